# Shared helpers for the consumer suites in test/suites/*.sh (sourced, not run).
#
# A suite does:
#   . "$(dirname "$0")/common.sh"
#   need_module; card_init; server_pki      # as needed
#   check "what" cmd...   /  pass "what"  /  fail "what" "why"  /  skip "what" "why"
#   finish                                  # prints the tally, exits 1 on any failure
#
# Every suite gets a private temp dir $T (removed on exit, kept when
# MYNA_TEST_KEEP=1), a fresh simulated card (state file $T/card.state, used by
# the module through MYNA_PKCS11_SIM), and stops every background process it
# started by PID. Only 127.0.0.1 is used, on ports that were free when chosen.
#
# Variables a caller may set:
#   MYNA_PKCS11_LIB  the module (default build/libmyna-pkcs11.so)
#   MYNA_SIM         the simulator command (default build/out/myna-sim)
#   MYNA_TEST_KEEP=1 keep the temp dir for inspection
#   MYNA_TEST_TIMEOUT seconds any single consumer command may run (default 60);
#                    only a guard against hangs, never an assertion on speed.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SUITE=${SUITE:-$(basename "$0" .sh)}
MOD=${MYNA_PKCS11_LIB:-$ROOT/build/libmyna-pkcs11.so}
SIM=${MYNA_SIM:-$ROOT/build/out/myna-sim}
AUTH_PIN=${MYNA_AUTH_PIN:-1234}
SIGN_PIN=${MYNA_SIGN_PIN:-ABC123}
TMO=${MYNA_TEST_TIMEOUT:-60}
ENGINE_SO=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
P11KIT_PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
export PATH="/usr/local/go/bin:$PATH"

T=$(mktemp -d "/tmp/myna-$SUITE.XXXXXX")
chmod 700 "$T"
N_PASS=0 N_FAIL=0 N_SKIP=0
PIDS=()          # background processes to stop on exit
CLEANUP_FILES=() # files outside $T to remove on exit

# --- reporting -------------------------------------------------------------

# pass WHAT: prints "PASS <suite>: WHAT".
pass() { N_PASS=$((N_PASS + 1)); echo "PASS $SUITE: $1"; }

# fail WHAT [WHY]: prints "FAIL <suite>: WHAT" and the reason, indented.
fail() {
  N_FAIL=$((N_FAIL + 1)); echo "FAIL $SUITE: $1"
  [ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/    /' | head -n 40
}

# skip WHAT WHY: prints "SKIP <suite>: WHAT (WHY)"; does not count as a failure.
skip() { N_SKIP=$((N_SKIP + 1)); echo "SKIP $SUITE: $1 ($2)"; }

# info TEXT: an indented informational line (not a check).
info() { printf '    %s\n' "$*"; }

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

# finish: prints the tally and exits 1 if anything failed.
finish() {
  echo "$SUITE: $N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
  [ "$N_FAIL" -eq 0 ] && exit 0
  exit 1
}

# --- processes and cleanup -------------------------------------------------

# stop_pid PID: SIGTERM, wait for it to go (SIGKILL after ~10 s), reap it.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
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

_cleanup() {
  local pid f
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for f in "${CLEANUP_FILES[@]}"; do rm -f -- "$f"; done
  if [ "${MYNA_TEST_KEEP:-0}" = 1 ]; then echo "$SUITE: kept $T"; else rm -rf -- "$T"; fi
}
trap _cleanup EXIT
trap 'exit 130' INT TERM HUP

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

# wait_port PORT [PID]: waits until 127.0.0.1:PORT accepts (listens); fails
# early if PID exits. Gives up after $TMO seconds.
wait_port() {
  local port=$1 pid=${2:-} i
  for i in $(seq $((TMO * 10))); do
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q "127.0.0.1:$port" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# --- the module and the simulated card ----------------------------------------

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
# module at it (MYNA_PKCS11_SIM), exports its certificates and finds the two
# tokens. Sets:
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
  export MYNA_PKCS11_SIM="$STATE"
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
    [ -f "$f" ] && _pem "$f" /dev/null || continue   # certificates only
    base=$(basename "$f" | tr 'A-Z' 'a-z')
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
# without login; the sign token is the other one of ours.
_find_tokens() {
  local urls u
  AUTH_TOKEN_URI="" SIGN_TOKEN_URI=""
  if ! run_to "$T/token-urls.log" p11tool --provider "$MOD" --list-token-urls; then
    fail "list the module's tokens (p11tool --list-token-urls)" "$(tail -n 20 "$T/token-urls.log")"; finish
  fi
  mapfile -t urls < <(grep '^pkcs11:' "$T/token-urls.log")
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
  v=$(printf '%s\n' "${1#pkcs11:}" | tr ';' '\n' | sed -n "s/^$2=//p" | head -n 1)
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
