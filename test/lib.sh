# Shared bash functions for scripts that need pcscd and the simulated My
# Number Card behind vsmartcard's vpcd. Source it, do not run it:
#
#   . "$(dirname "$0")/lib.sh"
#   need_root_deps                 # installs Debian packages (test/install-deps.sh)
#   start_pcscd                    # private pcscd; refuses if another one runs
#   start_sim "$LIB_TMP/card.json" 35963   # serves the card as "Virtual PCD 00 00"
#   ...                            # opensc-tool, pkcs11-tool, the module...
#   (stop_sim / stop_pcscd, or just exit: the EXIT trap stops both by PID)
#
# Variables it sets: ROOT (repository), LIB_TMP (private temp dir, removed on
# exit unless MYNA_TEST_KEEP=1), PCSCD_PID, SIM_PID, SIM_BIN, SIM_READER.
# A script can define lib_extra_cleanup() to run its own cleanup first.
#
# Only one pcscd may run on a machine at a time (it owns
# /run/pcscd/pcscd.comm), so start_pcscd refuses rather than disturbing a
# pcscd someone else started. Processes are only ever stopped by PID.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"
LIB_TMP=$(mktemp -d /tmp/myna-lib.XXXXXX)
chmod 700 "$LIB_TMP"
PCSCD_PID=""
SIM_PID=""
SIM_BIN="$ROOT/build/out/myna-sim"
SIM_READER=""
VPCD_PORT=35963

lib_log() { echo "lib: $*" >&2; }

# need_root_deps installs the Debian packages the tests need (idempotent).
need_root_deps() {
  bash "$ROOT/test/install-deps.sh"
}

# lib_wait_gone PID: wait up to 10 s for PID to exit, then SIGKILL it.
lib_wait_gone() {
  local pid=$1 i
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  lib_log "process $pid ignored SIGTERM for 10 s: sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# vpcd_listening PORT: true when vpcd listens on PORT.
vpcd_listening() {
  ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}

# start_pcscd starts a private pcscd in the foreground (log:
# $LIB_TMP/pcscd.log) and waits until vpcd listens on 127.0.0.1:35963.
start_pcscd() {
  if [ -n "$PCSCD_PID" ]; then lib_log "pcscd already started by this script (pid $PCSCD_PID)"; return 0; fi
  local other
  other=$(pgrep -x pcscd | tr '\n' ' ')
  if [ -n "$other" ]; then
    lib_log "another pcscd is running (pid $other): stop it first; only one pcscd may run at a time"
    return 1
  fi
  if [ -S /run/pcscd/pcscd.comm ]; then
    lib_log "note: stale /run/pcscd/pcscd.comm without a pcscd process; pcscd will replace it"
  fi
  if vpcd_listening "$VPCD_PORT"; then
    lib_log "port $VPCD_PORT is already in use: cannot start vpcd"
    return 1
  fi
  # No --apdu: the APDU log would contain the PINs of VERIFY commands.
  pcscd --foreground >"$LIB_TMP/pcscd.log" 2>&1 &
  PCSCD_PID=$!
  local i
  for i in $(seq 100); do
    if ! kill -0 "$PCSCD_PID" 2>/dev/null; then
      lib_log "pcscd exited at start; log:"; tail -n 20 "$LIB_TMP/pcscd.log" >&2
      PCSCD_PID=""; return 1
    fi
    vpcd_listening "$VPCD_PORT" && return 0
    sleep 0.1
  done
  lib_log "vpcd did not listen on port $VPCD_PORT within 10 s (is vsmartcard-vpcd installed?)"
  return 1
}

# stop_pcscd stops the pcscd this script started, by PID, and waits until
# it is gone (it needs about 1 s to clean up /run/pcscd).
stop_pcscd() {
  [ -n "$PCSCD_PID" ] || return 0
  kill "$PCSCD_PID" 2>/dev/null
  lib_wait_gone "$PCSCD_PID"
  wait "$PCSCD_PID" 2>/dev/null
  PCSCD_PID=""
}

# build_sim builds build/out/myna-sim once per script run.
build_sim() {
  [ -n "${LIB_SIM_BUILT:-}" ] && [ -x "$SIM_BIN" ] && return 0
  mkdir -p "$(dirname "$SIM_BIN")"
  (cd "$ROOT" && go build -trimpath -o "$SIM_BIN" ./cardos/cmd/myna-sim) || { lib_log "building myna-sim failed"; return 1; }
  LIB_SIM_BUILT=1
}

# start_sim STATE [PORT] [EXTRA FLAGS...]: serve the card of STATE (created
# with defaults when missing) to vpcd on 127.0.0.1:PORT (default 35963,
# reader "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01") and wait
# until opensc-tool -l shows the card. Log: $LIB_TMP/sim.log.
start_sim() {
  local state=$1 port=${2:-35963}
  shift; [ $# -gt 0 ] && shift
  if [ -n "$SIM_PID" ]; then lib_log "simulator already started (pid $SIM_PID)"; return 1; fi
  build_sim || return 1
  SIM_READER="Virtual PCD 00 0$((port - 35963))"
  "$SIM_BIN" --state "$state" --vpcd "127.0.0.1:$port" "$@" >>"$LIB_TMP/sim.log" 2>&1 &
  SIM_PID=$!
  local i
  for i in $(seq 100); do
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
      lib_log "myna-sim exited at start; log:"; tail -n 20 "$LIB_TMP/sim.log" >&2
      SIM_PID=""; return 1
    fi
    if opensc-tool -l 2>/dev/null | grep -Eq "^[0-9]+ +Yes +.*$SIM_READER\$"; then
      return 0
    fi
    sleep 0.1
  done
  lib_log "the card did not appear in '$SIM_READER' within 10 s; opensc-tool -l:"
  opensc-tool -l >&2
  return 1
}

# stop_sim stops the simulator by PID (vpcd then reports the card removed).
stop_sim() {
  [ -n "$SIM_PID" ] || return 0
  kill "$SIM_PID" 2>/dev/null
  lib_wait_gone "$SIM_PID"
  wait "$SIM_PID" 2>/dev/null
  # pcscd notices the removal at its next presence poll (every ~0.4 s);
  # until then it still reports the old card, and a new simulator started
  # at once would be mistaken for ready while commands go to the dead one.
  if [ -n "${SIM_READER:-}" ] && [ -n "${PCSCD_PID:-}" ]; then
    local i
    for i in $(seq 50); do
      opensc-tool -l 2>/dev/null | grep -Eq "^[0-9]+ +Yes +.*$SIM_READER\$" || break
      sleep 0.1
    done
  fi
  SIM_PID=""
}

# lib_cleanup runs on exit: the script's own cleanup, then the simulator,
# then pcscd, then the temp dir.
lib_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if declare -F lib_extra_cleanup >/dev/null; then lib_extra_cleanup; fi
  stop_sim
  stop_pcscd
  if [ "${MYNA_TEST_KEEP:-0}" = 1 ]; then
    lib_log "kept $LIB_TMP"
  else
    rm -rf "$LIB_TMP"
  fi
  exit "$rc"
}
trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
