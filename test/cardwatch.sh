# shellcheck shell=bash
# Sourced (after test/lib.sh and card_init) by the suites that run a user's
# program against the simulated card behind pcscd + vpcd and watch what each
# step cost the card: its PIN tries (myna-sim --status) and the VERIFY
# commands it received (myna-sim --stats-file).
#
#   pcsc_card                      the card of $STATE in vpcd's reader, programs through pcscd
#   watch; CMD...; tries_are WHAT "AUTH SIGN" [N]   the tries after CMD, and N VERIFYs sent by it
#   card_out / card_in             take the card out of the reader / put it back

# pcsc_card: from here on every program reaches the card of $STATE through
# pcscd (MYNA_PKCS11_SIM unset), with its APDU counts in $T/stats.json.
# FAIL and finish when pcscd or the simulator does not start.
pcsc_card() {
  unset MYNA_PKCS11_SIM
  start_pcscd || { fail "start pcscd (only one pcscd may run on the machine)"; finish; }
  start_sim "$STATE" 35963 --stats-file "$T/stats.json" || { fail "serve the simulated card to vpcd"; finish; }
}

# verifies: prints the number of VERIFY commands the card has received.
verifies() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("verifies", 0))' "$T/stats.json" 2>/dev/null || echo 0
}

# watch: remembers the card's VERIFY count, for tries_are.
watch() { WATCH_V0=$(verifies); }

# tries_are WHAT TRIES [N]: PASS when the card's tries are TRIES ("AUTH SIGN",
# e.g. "2 5") and, when N is given, it received N VERIFY commands since watch.
tries_are() {
  local t n
  t=$(tries_left "$STATE") n=$(($(verifies) - ${WATCH_V0:-0}))
  if [ "$t" = "$2" ] && [ "${3:-$n}" = "$n" ]; then
    pass "$1 (tries auth/sign: $t, VERIFY sent: $n)"
  else
    fail "$1" "want tries $2 and ${3:-any number of} VERIFY, got tries $t and $n VERIFY"
  fi
}

# card_out / card_in: the simulator takes the card out of the reader / puts
# it back (SIGUSR1); each waits until pcscd reports it.
card_out() { _card_toggle No; }
card_in() { _card_toggle Yes; }
_card_toggle() {
  kill -USR1 "$SIM_PID"
  for _ in $(seq 50); do reader_shows "$SIM_READER" "$1" && return 0; sleep 0.1; done
  fail "the reader shows card present: $1" "$(opensc-tool -l 2>&1)"
}
