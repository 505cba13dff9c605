# shellcheck shell=bash
# The one shell harness of myna-pkcs11's tests (sourced, never run): every
# suite in test/suites/*.sh and the scripts test/opensc-sim.sh,
# test/pcsc-sim.sh, test/faults/pcsc.sh and test/bench.sh source it.
#
#   . "$(dirname "$0")/../lib.sh"          # from test/suites/
#   need_module; card_init; server_pki     # as needed
#   check "what" cmd...   /  pass "what"  /  fail "what" "why"  /  skip "what" "why"
#   start_pcscd; start_sim "$STATE" 35963  # a private pcscd and the card behind vpcd
#   on_exit CMD                            # extra cleanup, run first on exit
#   finish                                 # prints the tally, exits 1 on any failure
#
# Every script gets a private temp dir $T (also called $LIB_TMP; removed on
# exit, kept when MYNA_TEST_KEEP=1) and ONE EXIT trap (_cleanup) that runs the
# on_exit hooks, lib_extra_cleanup if the script defines one, stops every
# background process it started by PID (start_bg, start_sim, start_pcscd) and
# removes its files. Only 127.0.0.1 is used, on ports that were free when
# chosen.
#
# Only one pcscd may run on a machine at a time (it owns
# /run/pcscd/pcscd.comm): start_pcscd waits until no other pcscd runs (up to
# MYNA_PCSC_WAIT seconds, default 600) and never touches a pcscd it did not
# start.
#
# Variables a caller may set:
#   MYNA_PKCS11_LIB  the module (default build/libmyna-pkcs11.so)
#   MYNA_SIM         the simulator command (default build/out/myna-sim)
#   MYNA_TEST_KEEP=1 keep the temp dir for inspection
#   MYNA_TEST_TIMEOUT seconds any single consumer command may run (default 60);
#                    only a guard against hangs, never an assertion on speed.
#   MYNA_PCSC_WAIT   seconds start_pcscd waits for another pcscd to go (default 600)
#   MYNA_SIM_DEVICE  the credential the simulator plays: card (default),
#                    android or iphone (a smartphone credential; on_phones sets it)
#   MYNA_SIM_VIA     how card_init serves it: in-process (default) or pcsc
#
# Skips: skip WHAT WHY reports a check that did not run. finish then exits 77
# when nothing failed but something was skipped, and test/run-all.sh reports
# the suite as SKIP with the reasons (with CI=true a skip fails the run; see
# run-all.sh).

# shellcheck disable=SC2034  # sets variables for the scripts that source it
# Sourced twice (a script sourcing lib.sh again later): the second time is
# a no-op, so the tally and $T stay.
if [ -n "${MYNA_HARNESS_LOADED:-}" ]; then return 0; fi
MYNA_HARNESS_LOADED=1

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=${SUITE:-$(basename "$0" .sh)}
DEVICE=${MYNA_SIM_DEVICE:-card} SIM_VIA=${MYNA_SIM_VIA:-in-process}
PHONE="" # set for a smartphone credential: its auth key and certificate show only after login
if [ "$DEVICE" != card ]; then PHONE=1 SUITE="$SUITE-$DEVICE"; fi
if [ "$SIM_VIA" != in-process ]; then SUITE="$SUITE-$SIM_VIA"; fi
MOD=${MYNA_PKCS11_LIB:-$ROOT/build/libmyna-pkcs11.so}
SIM=${MYNA_SIM:-$ROOT/build/out/myna-sim}
SIM_BIN=$SIM
AUTH_PIN=${MYNA_AUTH_PIN:-1234}
SIGN_PIN=${MYNA_SIGN_PIN:-ABC123}
TMO=${MYNA_TEST_TIMEOUT:-60}
ENGINE_SO=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
P11KIT_PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
export PATH="/usr/local/go/bin:$PATH"
# The suites type wrong PINs: the module's desktop notifications (on by
# default) must not pop up on the desktop of whoever runs them.
export MYNA_PKCS11_NOTIFICATIONS=${MYNA_PKCS11_NOTIFICATIONS:-false}

T=$(mktemp -d "/tmp/myna-$SUITE.XXXXXX")
chmod 700 "$T"
LIB_TMP=$T
N_PASS=0 N_FAIL=0 N_SKIP=0
PIDS=()          # background processes to stop on exit
CLEANUP_FILES=() # files outside $T to remove on exit
EXIT_HOOKS=()    # commands (on_exit) run first on exit
PCSCD_PID=""
SIM_PID=""
SIM_READER=""
VPCD_PORT=35963

# --- reporting -------------------------------------------------------------

# pass WHAT: prints "PASS <suite>: WHAT".
pass() { N_PASS=$((N_PASS + 1)); echo "PASS $SUITE: $1"; }

# fail WHAT [WHY]: prints "FAIL <suite>: WHAT" and the reason (40 lines at most), indented.
fail() {
  N_FAIL=$((N_FAIL + 1)); echo "FAIL $SUITE: $1"
  [ $# -lt 2 ] || printf '%s\n' "$2" | sed -n '1,40s/^/    /p'
}

# skip WHAT WHY: prints "SKIP <suite>: WHAT (WHY)"; not a failure, not a pass.
skip() { N_SKIP=$((N_SKIP + 1)); echo "SKIP $SUITE: $1 ($2)"; }

# info TEXT: an indented informational line (not a check).
info() { printf '    %s\n' "$*"; }

# lib_log TEXT: a harness message on stderr.
lib_log() { echo "lib: $*" >&2; }

# run_to LOG CMD...: runs CMD with the hang guard, stdout+stderr to LOG, stdin
# from $RUN_STDIN (default /dev/null); returns its status (124 = hung, killed).
run_to() {
  local log=$1; shift
  timeout -k 5 "$TMO" "$@" >"$log" 2>&1 <"${RUN_STDIN:-/dev/null}"
}

# check WHAT CMD...: runs CMD (hang-guarded, output kept in $CHECK_LOG);
# PASS when it exits 0, else FAIL with the tail of its output.
check() {
  local what=$1; shift
  local log="$T/check-$((N_PASS + N_FAIL + N_SKIP)).log"
  CHECK_LOG=$log
  local rc=0
  run_to "$log" "$@" || rc=$?
  if [ "$rc" -eq 0 ]; then pass "$what"; return 0; fi
  fail "$what" "exit $rc: $*"$'\n'"$(tail -n 15 "$log")"
  return 1
}

# expect_in WHAT FILE REGEX: PASS when FILE has a line matching REGEX (grep -E).
expect_in() {
  if grep -Eq -- "$3" "$2"; then pass "$1"; return 0; fi
  fail "$1" "no line matching /$3/ in $2:"$'\n'"$(tail -n 15 "$2")"; return 1
}

# crashed RC: true when RC says the process was killed by a signal or by the hang guard.
crashed() { [ "$1" -eq 124 ] || [ "$1" -eq 137 ] || [ "$1" -ge 128 ]; }

# finish: prints the tally and exits: 1 if anything failed, 77 if nothing
# failed but something was skipped, 0 otherwise.
finish() {
  echo "$SUITE: $N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
  [ "$N_FAIL" -eq 0 ] || exit 1
  [ "$N_SKIP" -eq 0 ] || exit 77
  exit 0
}

# --- processes and cleanup -------------------------------------------------

# stop_pid PID: SIGTERM, wait for it to go (SIGKILL after ~10 s), reap it.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    lib_log "process $pid ignored SIGTERM for 10 s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  wait "$pid" 2>/dev/null
  return 0
}

# start_bg NAME CMD...: starts CMD in the background (log $T/NAME.log), sets BG_PID.
start_bg() {
  local name=$1; shift
  "$@" >"$T/$name.log" 2>&1 </dev/null &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# start_xvfb NAME: starts Xvfb (log $T/NAME.log, stopped with the other
# background processes) and sets XDISPLAY (":N") once it is ready; returns 1
# if it did not start within $TMO s. The display number is a random free one,
# not the first free one (Xvfb -displayfd alone): /tmp/.X11-unix and the
# lock files are shared with suites in other PID namespaces, whose lock files
# look stale from here, so their Xvfb and this one would both take :0.
start_xvfb() {
  local name=$1 ready="$T/$1.display" n i
  for i in $(seq 50); do
    n=$((100 + RANDOM % 900))
    [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || break
  done
  # shellcheck disable=SC2016  # $1 and $2 are expanded by the inner bash
  start_bg "$name" bash -c 'exec Xvfb ":$2" -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$1"' _ "$ready" "$n"
  for i in $(seq $((TMO * 10))); do [ -s "$ready" ] && break; kill -0 "$BG_PID" 2>/dev/null || break; sleep 0.1; done
  [ -s "$ready" ] || return 1
  XDISPLAY=":$(tr -dc 0-9 <"$ready")"
}

# on_exit CMD: runs CMD (with eval) when the script exits, before the
# harness stops its processes; hooks run in reverse order of registration.
on_exit() { EXIT_HOOKS+=("$1"); }

# _cleanup is the one EXIT trap: on_exit hooks, lib_extra_cleanup, background
# processes, the simulator, pcscd, files, the temp dir. It runs once, even
# when a script still calls it from a trap or lib_extra_cleanup of its own.
_cleanup() {
  [ -z "${_CLEANED:-}" ] || return 0
  _CLEANED=1
  local i pid f
  for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do eval "${EXIT_HOOKS[$i]}" || true; done
  if declare -F lib_extra_cleanup >/dev/null; then lib_extra_cleanup || true; fi
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  stop_sim
  stop_pcscd
  for f in "${CLEANUP_FILES[@]}"; do rm -f -- "$f"; done
  if [ "${MYNA_TEST_KEEP:-0}" = 1 ]; then echo "$SUITE: kept $T" >&2; else rm -rf -- "$T"; fi
}
trap _cleanup EXIT
trap 'exit 130' INT HUP
trap 'exit 143' TERM

# --- ports -----------------------------------------------------------------

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local p i
  for i in $(seq 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ]; then echo "$p"; return 0; fi
  done
  echo "free_port: no free port found" >&2; return 1
}

# listening PORT: true when something listens on 127.0.0.1:PORT (or any address).
listening() {
  local out
  out=$(ss -Hltn "sport = :$1" 2>/dev/null)
  [ -n "$out" ]
}

# vpcd_listening PORT: true when vpcd (or anything) listens on PORT.
vpcd_listening() { listening "$1"; }

# wait_port PORT [PID]: waits until 127.0.0.1:PORT accepts (listens); fails
# early if PID exits. Gives up after $TMO seconds.
wait_port() {
  local port=$1 pid=${2:-} i out
  for i in $(seq $((TMO * 10))); do
    out=$(ss -Hltn "sport = :$port" 2>/dev/null)
    case "$out" in *"127.0.0.1:$port"*) return 0 ;; esac
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# --- pcscd and the simulated card behind vpcd -------------------------------

# need_root_deps installs the Debian packages the tests need (idempotent).
need_root_deps() { bash "$ROOT/test/install-deps.sh"; }

# other_pcscd: prints the PIDs of running pcscd processes (none started by
# this script when it calls it); empty when there is none.
other_pcscd() { pgrep -x pcscd | tr '\n' ' ' | sed 's/ $//'; }

# wait_no_pcscd [LIMIT]: waits until no pcscd runs and the vpcd port is
# free, up to LIMIT seconds (default MYNA_PCSC_WAIT, 600). Sets
# PCSCD_WAITED (seconds waited); returns 1 if another pcscd still runs.
wait_no_pcscd() {
  local limit=${1:-${MYNA_PCSC_WAIT:-600}} other
  PCSCD_WAITED=0
  while other=$(other_pcscd); [ -n "$other" ] || vpcd_listening "$VPCD_PORT"; do
    if [ "$PCSCD_WAITED" -ge "$limit" ]; then
      lib_log "another pcscd (pid ${other:-none}, port $VPCD_PORT ${other:+or }in use) still runs after ${limit}s; only one pcscd may run at a time"
      return 1
    fi
    [ "$PCSCD_WAITED" != 0 ] || lib_log "another pcscd (pid ${other:-none}) is running; waiting up to ${limit}s for it to stop"
    sleep 5; PCSCD_WAITED=$((PCSCD_WAITED + 5))
  done
}

# start_pcscd: waits until no other pcscd runs (wait_no_pcscd), then starts a
# private pcscd in the foreground (log: $T/pcscd.log) and waits until vpcd
# listens on 127.0.0.1:35963; retries when another pcscd won the race.
# Returns 1 with PCSCD_BUSY=1 when another pcscd kept running, with
# PCSCD_BUSY="" when ours would not start.
start_pcscd() {
  if [ -n "$PCSCD_PID" ]; then lib_log "pcscd already started by this script (pid $PCSCD_PID)"; return 0; fi
  local attempt i
  PCSCD_BUSY=""
  for attempt in 1 2 3 4 5; do
    if ! wait_no_pcscd "${MYNA_PCSC_WAIT:-600}"; then PCSCD_BUSY=1; return 1; fi
    if [ -S /run/pcscd/pcscd.comm ]; then
      lib_log "note: stale /run/pcscd/pcscd.comm without a pcscd process; pcscd will replace it"
    fi
    # No --apdu: the APDU log would contain the PINs of VERIFY commands.
    pcscd --foreground >>"$T/pcscd.log" 2>&1 &
    PCSCD_PID=$!
    for i in $(seq 100); do
      kill -0 "$PCSCD_PID" 2>/dev/null || break
      vpcd_listening "$VPCD_PORT" && return 0
      sleep 0.1
    done
    if kill -0 "$PCSCD_PID" 2>/dev/null; then
      lib_log "vpcd did not listen on port $VPCD_PORT within 10 s (is vsmartcard-vpcd installed?)"
      stop_pcscd; return 1
    fi
    wait "$PCSCD_PID" 2>/dev/null
    PCSCD_PID=""
    lib_log "pcscd exited at start (attempt $attempt; another one may have won the race); log:"
    tail -n 5 "$T/pcscd.log" >&2
    sleep 2
  done
  return 1
}

# stop_pcscd stops the pcscd this script started, by PID, and waits until
# it is gone (it needs about 1 s to clean up /run/pcscd).
stop_pcscd() {
  [ -n "$PCSCD_PID" ] || return 0
  stop_pid "$PCSCD_PID"
  PCSCD_PID=""
}

# build_sim builds build/out/myna-sim once per script run.
build_sim() {
  [ -n "${LIB_SIM_BUILT:-}" ] && [ -x "$SIM_BIN" ] && return 0
  mkdir -p "$(dirname "$SIM_BIN")"
  (cd "$ROOT" && go build -trimpath -o "$SIM_BIN" ./cardos/cmd/myna-sim) || { lib_log "building myna-sim failed"; return 1; }
  LIB_SIM_BUILT=1
}

# reader_shows READER Yes|No: true when opensc-tool -l lists READER with a
# card (Yes) or empty (No). The list is captured before it is searched.
reader_shows() {
  local list
  list=$(opensc-tool -l 2>/dev/null)
  grep -Eq "^[0-9]+ +$2 +.*$1\$" <<<"$list"
}

# reader_has_card READER: true when opensc-tool -l shows a card in READER.
reader_has_card() { reader_shows "$1" Yes; }

# start_sim STATE [PORT] [EXTRA FLAGS...]: serve the card of STATE (created
# with defaults when missing) to vpcd on 127.0.0.1:PORT (default 35963,
# reader "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01") and wait
# until opensc-tool -l shows the card, as the $DEVICE (MYNA_SIM_DEVICE).
# Log: $T/sim.log.
start_sim() {
  local state=$1 port=${2:-35963}
  shift; [ $# -gt 0 ] && shift
  if [ -n "$SIM_PID" ]; then lib_log "simulator already started (pid $SIM_PID)"; return 1; fi
  build_sim || return 1
  SIM_READER="Virtual PCD 00 0$((port - 35963))"
  [ -z "$PHONE" ] || set -- --device "$DEVICE" "$@"
  "$SIM_BIN" --state "$state" --vpcd "127.0.0.1:$port" "$@" >>"$T/sim.log" 2>&1 &
  SIM_PID=$!
  local i
  for i in $(seq 100); do
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
      lib_log "myna-sim exited at start; log:"; tail -n 20 "$T/sim.log" >&2
      SIM_PID=""; return 1
    fi
    reader_has_card "$SIM_READER" && return 0
    sleep 0.1
  done
  lib_log "the card did not appear in '$SIM_READER' within 10 s; opensc-tool -l:"
  opensc-tool -l >&2
  return 1
}

# stop_sim stops the simulator by PID (vpcd then reports the card removed).
stop_sim() {
  [ -n "$SIM_PID" ] || return 0
  stop_pid "$SIM_PID"
  # pcscd notices the removal at its next presence poll (every ~0.4 s);
  # until then it still reports the old card, and a new simulator started
  # at once would be mistaken for ready while commands go to the dead one.
  if [ -n "${SIM_READER:-}" ] && [ -n "${PCSCD_PID:-}" ]; then
    local i
    for i in $(seq 50); do
      reader_has_card "$SIM_READER" || break
      sleep 0.1
    done
  fi
  SIM_PID=""
}

# --- the module and the simulated card ----------------------------------------

# need_packages PKG...: installs the Debian packages that are missing
# (as root, with apt-get); FAIL and exit when it cannot.
need_packages() {
  local pkg status missing=()
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=""
    [ "$status" = 'install ok installed' ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    fail "install ${missing[*]}" "not root: run apt-get install -y ${missing[*]}"; finish
  fi
  info "installing ${missing[*]} from Debian"
  if run_to "$T/apt-update.log" apt-get update -q &&
    TMO=900 DEBIAN_FRONTEND=noninteractive run_to "$T/apt-install.log" apt-get install -y -q "${missing[@]}"; then
    pass "apt-get install ${missing[*]}"
  else
    fail "apt-get install ${missing[*]}" "$(tail -n 15 "$T/apt-install.log" 2>/dev/null || tail -n 15 "$T/apt-update.log")"; finish
  fi
}

# driver_steps NAME DLOG RC PROGLOG LABEL STEP...: one PASS per step the
# driver log DLOG reports done ("OK STEP: ..."), described by the caller's
# associative array `what`; the first step missing is a FAIL showing the
# driver's last lines and the program's log PROGLOG (LABEL names it), and
# the steps after it SKIPs. Sets RUN_FAILED to that step (empty: all done).
driver_steps() {
  local name=$1 dlog=$2 rc=$3 plog=$4 label=$5 s line
  shift 5
  RUN_FAILED=""
  for s in "$@"; do
    line=$(grep -m1 "^OK $s: " "$dlog")
    if [ -n "$line" ]; then
      pass "[$name] ${what[$s]}"
      info "${line#"OK $s: "}"
    elif [ -z "$RUN_FAILED" ]; then
      RUN_FAILED=$s
      fail "[$name] ${what[$s]}" "$(grep -E '^(FAIL|OK) ' "$dlog" | tail -n 3; [ "$rc" -eq 0 ] || echo "fxdriver exit $rc")"$'\n'"$label log: $(grep -vE 'RemoteAgent|Marionette|^\s|^$' "$plog" | tail -n 8)"
    else
      skip "[$name] ${what[$s]}" "not reached: step $RUN_FAILED failed"
    fi
  done
}

# need_module: the module and simulator must be built; otherwise FAIL and exit.
need_module() {
  local missing=()
  [ -f "$MOD" ] || missing+=("$MOD (make build/libmyna-pkcs11.so)")
  [ -x "$SIM" ] || missing+=("$SIM (make build/out/myna-sim)")
  if [ ${#missing[@]} -gt 0 ]; then
    fail "module and simulator are built" "missing: ${missing[*]}"
    finish
  fi
}
# card_init: creates a fresh simulated card in $T/card.state, points the
# module at it (MYNA_PKCS11_SIM and MYNA_PKCS11_SIM_DEVICE, or with
# MYNA_SIM_VIA=pcsc a private pcscd and the card behind vpcd), exports its
# certificates and finds the two tokens. Sets:
#   CERTS                 directory of the exported certificates
#   AUTH_CERT AUTH_CA     PEM files: the auth certificate and its CA (from the card)
#   AUTH_PUB              PEM file: the auth public key (from AUTH_CERT)
#   SIGN_CA               PEM file: the sign CA certificate
#   AUTH_TOKEN_URI SIGN_TOKEN_URI   RFC 7512 token URIs (from p11tool --list-token-urls)
#   AUTH_TOKEN_LABEL SIGN_TOKEN_LABEL  the token labels (for pkcs11-tool --token-label)
#   AUTH_KEY_URI SIGN_KEY_URI       URIs of the private keys (token URI;id=%01/02;type=private)
card_init() {
  STATE="$T/card.state"
  CERTS="$T/certs"
  mkdir -p "$CERTS"
  if ! run_to "$T/sim-init.log" "$SIM" --init --state "$STATE"; then
    fail "create a simulated card" "$(cat "$T/sim-init.log")"; finish
  fi
  if ! run_to "$T/sim-export.log" "$SIM" --export-certs "$CERTS" --state "$STATE"; then
    fail "export the simulated card's certificates" "$(cat "$T/sim-export.log")"; finish
  fi
  if [ "$SIM_VIA" = pcsc ]; then
    unset MYNA_PKCS11_SIM
    start_pcscd || { fail "start pcscd (only one pcscd may run on the machine)"; finish; }
    start_sim "$STATE" || { fail "serve the simulated $DEVICE to vpcd"; finish; }
  else
    export MYNA_PKCS11_SIM="$STATE" MYNA_PKCS11_SIM_DEVICE="$DEVICE"
  fi
  _find_certs
  _find_tokens
}

# _pem IN OUT: writes IN (PEM or DER certificate) as PEM to OUT.
_pem() {
  openssl x509 -in "$1" -out "$2" 2>/dev/null || openssl x509 -inform DER -in "$1" -out "$2" 2>/dev/null
}

# _find_certs: picks the exported files by name (auth / auth CA / sign CA).
_find_certs() {
  local f base
  AUTH_CERT="" AUTH_CA="" SIGN_CA="" SIGN_CERT_FILE=""
  for f in "$CERTS"/*; do
    # shellcheck disable=SC2015  # skip $f unless it is a file AND a certificate
    [ -f "$f" ] && _pem "$f" /dev/null || continue   # certificates only
    base=$(basename "$f" | tr '[:upper:]' '[:lower:]')
    case "$base" in
      *auth*ca*|*ca*auth*) AUTH_CA=$f ;;
      *sign*ca*|*ca*sign*) SIGN_CA=$f ;;
      *auth*) AUTH_CERT=$f ;;
      *sign*) SIGN_CERT_FILE=$f ;;
    esac
  done
  if [ -z "$AUTH_CERT" ] || [ -z "$AUTH_CA" ]; then
    fail "find the exported auth certificate and auth CA" "files: $(ls "$CERTS")"; finish
  fi
  _pem "$AUTH_CERT" "$T/auth-cert.pem" && AUTH_CERT="$T/auth-cert.pem"
  _pem "$AUTH_CA" "$T/auth-ca.pem" && AUTH_CA="$T/auth-ca.pem"
  [ -z "$SIGN_CA" ] || { _pem "$SIGN_CA" "$T/sign-ca.pem" && SIGN_CA="$T/sign-ca.pem"; }
  openssl x509 -in "$AUTH_CERT" -noout -pubkey >"$T/auth-pub.pem"
  AUTH_PUB="$T/auth-pub.pem"
}

# _find_tokens: the auth token is the one showing an object with CKA_ID 01
# without login; the sign token is the other one of ours. A phone shows no
# such object, and a serial of its own per insertion (so per process): its
# tokens are the module's two, auth first, in URIs without the serial.
_find_tokens() {
  local urls u
  AUTH_TOKEN_URI="" SIGN_TOKEN_URI=""
  if ! run_to "$T/token-urls.log" p11tool --provider "$MOD" --list-token-urls; then
    fail "list the module's tokens (p11tool --list-token-urls)" "$(tail -n 20 "$T/token-urls.log")"; finish
  fi
  mapfile -t urls < <(grep '^pkcs11:' "$T/token-urls.log")
  if [ -n "$PHONE" ] && [ ${#urls[@]} -eq 2 ]; then
    mapfile -t urls < <(printf '%s\n' "${urls[@]}" | sed 's/;serial=[^;]*//')
    AUTH_TOKEN_URI=${urls[0]} SIGN_TOKEN_URI=${urls[1]} urls=()
  fi
  for u in "${urls[@]}"; do
    run_to "$T/tok.log" p11tool --provider "$MOD" --list-all "$u"
    if grep -q 'id=%01' "$T/tok.log"; then AUTH_TOKEN_URI=$u
    elif [ -z "$SIGN_TOKEN_URI" ]; then SIGN_TOKEN_URI=$u; fi
  done
  if [ -z "$AUTH_TOKEN_URI" ] || [ -z "$SIGN_TOKEN_URI" ]; then
    fail "find the auth and sign tokens" "$(cat "$T/token-urls.log")"; finish
  fi
  AUTH_TOKEN_LABEL=$(uri_attr "$AUTH_TOKEN_URI" token)
  SIGN_TOKEN_LABEL=$(uri_attr "$SIGN_TOKEN_URI" token)
  AUTH_KEY_URI="$AUTH_TOKEN_URI;id=%01;type=private"
  SIGN_KEY_URI="$SIGN_TOKEN_URI;id=%02;type=private"
}

# on_phones [VIA...]: runs this suite again as each smartphone credential
# (MYNA_SIM_DEVICE=android, iphone), once per VIA (MYNA_SIM_VIA; default
# in-process), each a child process run before this one starts pcscd; its
# PASS/FAIL lines show, and a failed run is a FAIL here. A no-op in such a run.
on_phones() {
  [ -z "$PHONE" ] || return 0
  local d v rc
  [ $# -gt 0 ] || set -- in-process
  for d in android iphone; do
    for v in "$@"; do
      rc=0
      MYNA_SIM_DEVICE=$d MYNA_SIM_VIA=$v bash "$0" || rc=$?
      case $rc in
        0) pass "the suite passes as the $d credential ($v)" ;;
        77) skip "the suite as the $d credential ($v)" "it skipped checks" ;;
        *) fail "the suite passes as the $d credential ($v)" "exit $rc: see its FAIL lines above" ;;
      esac
    done
  done
}

# kind_of DEVICE: how the module names a smartphone DEVICE in its log
# ("smartphone certificate (Android)", cardos.Kind): Android, iPhone.
kind_of() { case $1 in android) echo Android ;; iphone) echo iPhone ;; *) echo "$1" ;; esac; }

# sim_status STATE: prints myna-sim --status for the card of STATE (all of
# it, captured first: never pipe it into a reader that may stop early).
sim_status() {
  local out rc=0
  out=$("$SIM" --status --state "$1" 2>&1) || rc=$?
  printf '%s\n' "$out"
  return "$rc"
}

# tries_left STATE: prints "AUTH SIGN", the tries left on the card of STATE
# (0 for a blocked one, "?" for a counter myna-sim --status did not show).
tries_left() {
  local out a s
  out=$(sim_status "$1")
  a=$(sed -n 's/^auth PIN:.*[^0-9]\([0-9][0-9]*\) of [0-9][0-9]* tries left.*/\1/p' <<<"$out")
  s=$(sed -n 's/^sign password:.*[^0-9]\([0-9][0-9]*\) of [0-9][0-9]* tries left.*/\1/p' <<<"$out")
  echo "${a:-?} ${s:-?}"
}

# check_tries: PASS when the simulated card still has every PIN try (3 auth,
# 5 sign), i.e. no consumer sent a wrong PIN to the card.
check_tries() {
  run_to "$T/status.log" "$SIM" --status --state "$STATE"
  if grep -Eq '^auth PIN: +3 of 3 tries left' "$T/status.log" &&
    grep -Eq '^sign password: +5 of 5 tries left' "$T/status.log"; then
    pass "no PIN try was spent on the card (myna-sim --status: auth 3 of 3, sign 5 of 5)"
  else
    fail "no PIN try was spent on the card" "$(grep -E 'PIN|password' "$T/status.log")"
  fi
}

# uri_attr URI NAME: prints the percent-decoded value of path attribute NAME of a pkcs11: URI.
uri_attr() {
  local v
  v=$(printf '%s\n' "${1#pkcs11:}" | tr ';' '\n' | sed -n "s/^$2=//p" | sed -n 1p)
  printf '%b\n' "${v//%/\\x}"
}

# sign_pub_from_card: reads the sign certificate (needs the sign PIN) through
# the module into $T/sign-cert.pem and its public key into $T/sign-pub.pem.
# The sign certificate carries personal data: it stays in $T and is never printed.
sign_pub_from_card() {
  run_to "$T/sign-cert.log" pkcs11-tool --module "$MOD" --token-label "$SIGN_TOKEN_LABEL" --login --pin "$SIGN_PIN" \
    --read-object --type cert --id 02 -o "$T/sign-cert.der" || return 1
  openssl x509 -inform DER -in "$T/sign-cert.der" -out "$T/sign-cert.pem" || return 1
  openssl x509 -in "$T/sign-cert.pem" -noout -pubkey >"$T/sign-pub.pem"
}

# p11kit_module LOG NAME: prints the block of module NAME in LOG, the output of
# `p11-kit list-modules` (its first line and the indented lines under it, so
# its tokens as "    token: LABEL"); nothing when NAME is not listed. A block
# starts "NAME: PATH" in p11-kit 0.24 (Debian 12), "module: NAME" in 0.25 (Debian 13).
p11kit_module() {
  awk -v n="$2" '/^[^ ]/ { on = ($1 == n ":" || ($1 == "module:" && $2 == n)); if (on) print; next } on' "$1"
}

# --- the locked PIN and the last try, in a browser -------------------------------------

# set_auth_tries N: leaves the simulated card of $STATE (MYNA_PKCS11_SIM) with
# N auth PIN tries: every counter back to its maximum (myna-sim
# --admin-reset), then 3-N wrong PINs through the module (pkcs11-tool, with
# the notifications off). FAIL when myna-sim --status then shows another count.
set_auth_tries() {
  local i got
  run_to "$T/admin-reset.log" "$SIM" --admin-reset --state "$STATE"
  for ((i = $1; i < 3; i++)); do
    MYNA_PKCS11_NOTIFICATIONS=false run_to "$T/set-tries.log" pkcs11-tool --module "$MOD" \
      --token-label "$AUTH_TOKEN_LABEL" --login --pin 9999 -O
  done
  read -r got _ < <(tries_left "$STATE")
  if [ "$got" = "$1" ]; then pass "the card's auth PIN has $1 of 3 tries left (myna-sim --status)"; return 0; fi
  fail "the card's auth PIN has $1 of 3 tries left" "myna-sim --status: $got; $(tail -n 3 "$T/set-tries.log")"
  return 1
}

# sim_stat FILE NAME: a top-level counter of a myna-sim --stats-file JSON
# (0 when it is not there yet), e.g. verifies: the VERIFY commands that
# carried a PIN.
sim_stat() {
  local v
  v=$(sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1" 2>/dev/null)
  echo "${v:-0}"
}

# wait_line FILE ERE: waits (at most $TMO s) until FILE has a line matching ERE.
wait_line() {
  local i
  for i in $(seq $((TMO * 10))); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# expect_notified WHAT FILE N SUMMARY: PASS when FILE (notifyrec's lines)
# holds N notifications (N "+": one or more), each a critical one (urgency 2)
# from myna-pkcs11 whose summary is SUMMARY and whose body names the
# municipal office (市区町村の窓口).
expect_notified() {
  local n bad
  n=$(wc -l <"$2")
  bad=$(grep -cvE $'^myna-pkcs11\t2\t'"$4"$'\t.*市区町村の窓口' "$2")
  if [ "$bad" = 0 ] && { [ "$3" = + ] && [ "$n" -ge 1 ] || [ "$n" = "$3" ]; }; then pass "$1"; return 0; fi
  fail "$1" "$n notification(s), $bad not \"$4\" (critical, naming 市区町村の窓口):"$'\n'"$(cat "$2")"
  return 1
}

# start_notify_bus: a private session bus (dbus-daemon) on which
# test/notifyrec stands in for the desktop's notification service. Sets
# NOTIFY_BUS, its address (for DBUS_SESSION_BUS_ADDRESS), and SHOWN, the
# file notifyrec appends each notification to as one line
# "APP<TAB>URGENCY<TAB>SUMMARY<TAB>BODY". The bus starts no service on
# demand (no <servicedir>): a browser's call to another service, such as the
# accessibility bus, fails at once instead of starting it. FAIL and finish
# when either does not start.
start_notify_bus() {
  command -v dbus-daemon >/dev/null || { fail "dbus-daemon is installed" "run test/install-deps.sh (dbus-daemon)"; finish; }
  check "build test/notifyrec (stand-in notification service)" go -C "$ROOT" build -o "$T/notifyrec" ./test/notifyrec || finish
  cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$T</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
  start_bg dbus dbus-daemon --config-file="$T/bus.conf" --nofork --print-address=1
  wait_line "$T/dbus.log" '^unix:' || { fail "a private session bus starts" "$(cat "$T/dbus.log")"; finish; }
  NOTIFY_BUS=$(sed -n 1p "$T/dbus.log")
  SHOWN="$T/shown.txt"
  : >"$SHOWN"
  DBUS_SESSION_BUS_ADDRESS=$NOTIFY_BUS start_bg notifyrec "$T/notifyrec" -out "$SHOWN"
  wait_line "$T/notifyrec.log" '^ready$' || { fail "notifyrec owns org.freedesktop.Notifications" "$(cat "$T/notifyrec.log")"; finish; }
  pass "a private session bus with a stand-in notification service"
}

# --- a throwaway server PKI --------------------------------------------------

# server_pki: creates a server CA and a server certificate for 127.0.0.1 /
# localhost. Sets SERVER_CA SERVER_CERT SERVER_KEY (PEM files in $T).
server_pki() {
  local d="$T/server"; mkdir -p "$d"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
      -subj "/CN=myna-pkcs11 test server CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
    openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/server.ext" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
      -out "$d/server.pem" -extfile "$d/server.ext"
  } >"$d/pki.log" 2>&1 || { fail "create the test server CA and certificate" "$(tail "$d/pki.log")"; finish; }
  SERVER_CA="$d/ca.pem" SERVER_CERT="$d/server.pem" SERVER_KEY="$d/server.key"
}

# engine_conf FILE MODULE: writes an OpenSSL config loading the libp11 engine
# with MODULE_PATH = MODULE (leave MODULE empty for libp11's default, p11-kit-proxy).
engine_conf() {
  {
    printf 'openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n'
    printf '[engine_section]\npkcs11 = pkcs11_section\n[pkcs11_section]\nengine_id = pkcs11\n'
    printf 'dynamic_path = %s\n' "$ENGINE_SO"
    [ -z "$2" ] || printf 'MODULE_PATH = %s\n' "$2"
    printf 'init = 0\n'
  } >"$1"
}

# start_s_server PORT LOG ARGS...: openssl s_server on 127.0.0.1:PORT with the
# test server cert, requiring a client cert from the card's auth CA. Sets BG_PID.
start_s_server() {
  local port=$1 name=$2; shift 2
  start_bg "$name" openssl s_server -accept "127.0.0.1:$port" -www \
    -cert "$SERVER_CERT" -key "$SERVER_KEY" -CAfile "$AUTH_CA" -Verify 1 -verify_return_error "$@"
  wait_port "$port" "$BG_PID" || { fail "start openssl s_server on 127.0.0.1:$port" "$(tail "$T/$name.log")"; return 1; }
}

# --- what a TLS server saw --------------------------------------------------------

# page_has_client_cert LOG: true when the s_server -www page in LOG (from
# "HTTP/1.0 200 ok" on) shows a client certificate, i.e. the handshake
# with client authentication succeeded. Reads the whole file.
page_has_client_cert() {
  awk '/HTTP\/1.0 200 ok/ {p = 1} p && /^Client certificate/ {f = 1} END {exit !f}' "$1"
}

# server_saw_card_cert LOG WHAT: PASS when the openssl s_server -www page in
# LOG (a client's output; the page starts at "HTTP/1.0 200 ok", or the whole
# file when there is no such line) shows the card's auth certificate
# ($AUTH_CERT, compared by SHA-256 fingerprint) as the client certificate and
# a PKCS#1 v1.5 CertificateVerify ("Peer signature type: RSA", or
# rsa_pkcs1_sha256/384/512 from OpenSSL 3.5); else FAIL
# saying which of the two was wrong. The page is kept in LOG.page.
server_saw_card_cert() {
  local log=$1 what=$2 page="$1.page" fp want sigtype proto subject
  sed -n '/HTTP\/1.0 200 ok/,$p' "$log" >"$page"
  [ -s "$page" ] || cp -- "$log" "$page"
  want=$(openssl x509 -in "$AUTH_CERT" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  if ! grep -q '^Client certificate' "$page"; then
    fail "$what" "the server page shows no client certificate:"$'\n'"$(tail -n 20 "$log")"; return 1
  fi
  fp=$(sed -n '/^Client certificate/,/END CERTIFICATE/p' "$page" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  if [ -z "$want" ] || [ "$fp" != "$want" ]; then
    fail "$what" "the server saw certificate '${fp:-none}', not the card's auth certificate ${want:-(unreadable $AUTH_CERT)}"; return 1
  fi
  sigtype=$(sed -n 's/^Peer signature type: *//p' "$page" | sed -n 1p)
  # OpenSSL 3.0 (Debian 12) names the key type, OpenSSL 3.5 (Debian 13) the
  # TLS signature scheme (RFC 8446 section 4.2.3); RSA-PSS is RSA-PSS / rsa_pss_*.
  case "$sigtype" in
    RSA | rsa_pkcs1_sha256 | rsa_pkcs1_sha384 | rsa_pkcs1_sha512) ;;
    *) fail "$what" "expected 'Peer signature type: RSA' (OpenSSL 3.0) or rsa_pkcs1_sha256/384/512 (OpenSSL 3.5), the server page says '${sigtype:-nothing}'"; return 1 ;;
  esac
  pass "$what"
  proto=$(sed -n 's/^ *\(Protocol  *:.*\)/\1/p' "$page" | sed -n 1p | sed 's/  */ /g')
  subject=$(sed -n '/^Client certificate/,$p' "$page" | sed -n 's/^ *\(Subject:.*\)/\1/p' | sed -n 1p)
  info "server page: ${proto:-no protocol line}; Peer signature type: $sigtype; client $subject"
}

# --- README recipes and OpenSSL 3 configurations ------------------------------------

# readme_recipe NAME OUT WANT: writes the fenced block that follows the line
# "<!-- NAME recipe -->" in README.md to OUT (without the fences); FAIL and
# finish when there is none or it lacks the fixed string WANT. The suites run
# it verbatim (bash -e OUT) so README shows what is tested.
readme_recipe() {
  sed -n "/<!-- $1 recipe -->/,/^\`\`\`\$/p" "$ROOT/README.md" | sed '1,2d;$d' >"$2"
  if [ ! -s "$2" ] || ! grep -qF -- "$3" "$2"; then
    fail "README.md has the $1 recipe (a fenced block after <!-- $1 recipe -->, with '$3')" "$(cat "$2")"; finish
  fi
  info "README $1 recipe: $(tr '\n' ' ' <"$2" | sed 's/  */ /g')"
}

# PKCS11_PROVIDER_SO is pkcs11-provider's OpenSSL 3 module (test/install-deps.sh
# installs it from bookworm-backports).
PKCS11_PROVIDER_SO=/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so

# need_provider: FAIL and finish when pkcs11-provider is not installed.
need_provider() {
  [ -f "$PKCS11_PROVIDER_SO" ] && return 0
  fail "pkcs11-provider is installed ($PKCS11_PROVIDER_SO)" "run test/install-deps.sh (it fetches it from bookworm-backports)"; finish
}

# provider_conf FILE MODULE [INIT [SECTIONS]]: writes an OpenSSL config
# loading the default provider and pkcs11-provider on MODULE. INIT (text) is
# added to [openssl_init] (for example "ssl_conf = ssl_sect"), SECTIONS (text)
# at the end (the sections INIT names).
provider_conf() {
  {
    printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n'
    [ -z "${3:-}" ] || printf '%s\n' "$3"
    printf '[provider_sect]\ndefault = default_sect\npkcs11 = pkcs11_sect\n[default_sect]\nactivate = 1\n'
    printf '[pkcs11_sect]\nmodule = %s\npkcs11-module-path = %s\nactivate = 1\n' "$PKCS11_PROVIDER_SO" "$2"
    [ -z "${4:-}" ] || printf '%s\n' "$4"
  } >"$1"
}

# --- a private sshd -------------------------------------------------------------------

# start_sshd AUTHORIZED_KEYS [EXTRA]: starts /usr/sbin/sshd -D on 127.0.0.1 on a
# free port with a fresh host key in $T, public-key login only against the
# file AUTHORIZED_KEYS; EXTRA (text) is added to its sshd_config. Log:
# $T/sshd.log (LogLevel VERBOSE: "Accepted publickey ... FINGERPRINT"). Sets
# SSHD_PORT, SSHD_PID, SSHD_HOSTKEY (the host key's file); FAIL and finish
# when it will not start. It is stopped by PID on exit.
start_sshd() {
  mkdir -p /run/sshd 2>/dev/null # privilege-separation directory sshd insists on (when root)
  SSHD_HOSTKEY="$T/hostkey"
  [ -f "$SSHD_HOSTKEY" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSHD_HOSTKEY"
  SSHD_PORT=$(free_port)
  {
    printf 'ListenAddress 127.0.0.1\nPort %s\nHostKey %s\nPidFile %s\n' "$SSHD_PORT" "$SSHD_HOSTKEY" "$T/sshd.pid"
    printf 'AuthorizedKeysFile %s\nStrictModes no\nUsePAM no\nPubkeyAuthentication yes\n' "$1"
    printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n'
    [ -z "${2:-}" ] || printf '%s\n' "$2"
  } >"$T/sshd_config"
  if ! run_to "$T/sshd-t.log" /usr/sbin/sshd -t -f "$T/sshd_config"; then
    fail "sshd accepts the test configuration" "$(cat "$T/sshd-t.log")"; finish
  fi
  start_bg sshd /usr/sbin/sshd -D -e -f "$T/sshd_config"
  SSHD_PID=$BG_PID
  if ! wait_port "$SSHD_PORT" "$SSHD_PID"; then
    fail "start sshd on 127.0.0.1:$SSHD_PORT" "$(tail "$T/sshd.log")"; finish
  fi
  pass "sshd listens on 127.0.0.1:$SSHD_PORT (PID $SSHD_PID)"
}
