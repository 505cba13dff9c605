#!/usr/bin/env bash
# Faulty card and reader through the real PC/SC stack: a private pcscd with
# vsmartcard's vpcd, the simulated card served by myna-sim (--fault, SIGUSR1
# removal/insertion), the module used by pkcs11-tool (no MYNA_PKCS11_SIM).
# Checks: signing works; card removed -> no token, signing fails cleanly;
# card back -> signing works; pcscd stopped -> no slot, no crash; pcscd
# started again -> signing works; garbage / silent / wrong-SW answers to
# SIGN -> clean failure then recovery; no PIN try spent in all of it.
# Prints PASS/FAIL lines and "pcsc-faults: N scenarios, N faults, N failed".
# Waits while another pcscd runs (only one may run; it is not touched); exits
# 77 (skipped, test/lib.sh's finish) when it kept running for MYNA_PCSC_WAIT
# seconds.
set -uo pipefail
SUITE=pcsc-faults
. "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
MOD=${MYNA_PKCS11_LIB:-$ROOT/build/libmyna-pkcs11.so}
unset MYNA_PKCS11_SIM MYNA_PKCS11_SIM_CONTROL
# PIN scope session: every VERIFY with a PIN the card sees is a login this
# script made, so the VERIFY counts below are exact (the default scope
# verifies the held PIN in each signature; its faults are in
# test/faults/scenarios_test.go TestOperationScope).
export MYNA_PKCS11_AUTH_PIN_SCOPE=session MYNA_PKCS11_SIGN_PIN_SCOPE=session
FAULTS=0
STATE="$LIB_TMP/card.json"
"$SIM_BIN" --init --state "$STATE" >/dev/null 2>&1 || build_sim && "$SIM_BIN" --init --state "$STATE" >/dev/null 2>&1
printf 'reliability over PC/SC\n' >"$LIB_TMP/msg"

# sign LOG: logs in to the auth token and signs $LIB_TMP/msg (exit status of pkcs11-tool).
sign() {
  timeout -k 5 60 pkcs11-tool --module "$MOD" --token-label "$(token_label)" --login --pin 1234 \
    --sign --id 01 -m SHA256-RSA-PKCS -i "$LIB_TMP/msg" -o "$LIB_TMP/sig" >"$1" 2>&1
}
token_label() { timeout 30 pkcs11-tool --module "$MOD" -L 2>/dev/null | sed -n 's/^ *token label *: *//p' | grep -i auth | sed -n 1p; }
crashed() { [ "$1" -ge 124 ]; }
restart_sim() { stop_sim; start_sim "$STATE" 35963 "$@"; }

if ! start_pcscd; then
  if [ -n "$PCSCD_BUSY" ]; then skip "PC/SC fault scenarios" "another pcscd kept running for ${PCSCD_WAITED}s"; finish; fi
  fail "start pcscd"; exit 1
fi
start_sim "$STATE" || { fail "serve the card to vpcd"; exit 1; }
if sign "$LIB_TMP/s1.log"; then pass "sign over PC/SC"; else fail "sign over PC/SC" "$(cat "$LIB_TMP/s1.log")"; fi

kill -USR1 "$SIM_PID"; FAULTS=$((FAULTS + 1))
for i in $(seq 50); do reader_shows "$SIM_READER" No && break; sleep 0.1; done
rc=0; timeout -k 5 60 pkcs11-tool --module "$MOD" -L >"$LIB_TMP/l.log" 2>&1 || rc=$?
if ! crashed "$rc" && ! grep -qi 'token label' "$LIB_TMP/l.log"; then pass "card removed: no token listed"; else fail "card removed: no token listed (rc $rc)" "$(cat "$LIB_TMP/l.log")"; fi
rc=0; sign "$LIB_TMP/s2.log" || rc=$?
if [ "$rc" -ne 0 ] && ! crashed "$rc"; then pass "card removed: signing fails cleanly"; else fail "card removed: signing fails cleanly (rc $rc)" "$(cat "$LIB_TMP/s2.log")"; fi
kill -USR1 "$SIM_PID"
for i in $(seq 50); do reader_has_card "$SIM_READER" && break; sleep 0.1; done
if sign "$LIB_TMP/s3.log"; then pass "card back: signing works"; else fail "card back: signing works" "$(cat "$LIB_TMP/s3.log")"; fi

stop_pcscd; FAULTS=$((FAULTS + 1))
rc=0; timeout -k 5 60 pkcs11-tool --module "$MOD" -L >"$LIB_TMP/l2.log" 2>&1 || rc=$?
if ! crashed "$rc" && ! grep -qi 'token label' "$LIB_TMP/l2.log"; then pass "pcscd stopped: no token, no crash"; else fail "pcscd stopped (rc $rc)" "$(cat "$LIB_TMP/l2.log")"; fi
start_pcscd || { fail "restart pcscd"; exit 1; }
for i in $(seq 100); do reader_has_card "$SIM_READER" && break; sleep 0.1; done
if sign "$LIB_TMP/s4.log"; then pass "pcscd started again: signing works"; else fail "pcscd started again: signing works" "$(cat "$LIB_TMP/s4.log")"; fi

# verifies FILE: VERIFYs with a PIN the simulator saw (from --stats-file).
verifies() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("verifies", 0))' "$1" 2>/dev/null || echo -1; }
# A fault that strikes every SIGN must make the signature fail cleanly with
# exactly one VERIFY (the login asked for). A fault that strikes once is
# absorbed: pkcs11-tool itself calls C_SignInit again after the failed
# C_Sign, and the module must then sign on the same card, still with one
# VERIFY. Either way the next process signs normally.
for spec in garbage,ins=2A wrong-sw,ins=2A,sw=6581 truncate,ins=2A silent,ins=2A; do
  for mode in repeat once; do
    [ "$mode" = once ] && [ "${spec%%,*}" = silent ] && continue # a silent card is disconnected: no same-session retry
    f="$spec"; [ "$mode" = repeat ] && f="$spec,repeat"
    stats="$LIB_TMP/stats-$mode.json"; rm -f "$stats"
    restart_sim --fault "$f" --stats-file "$stats" || { fail "serve the card with --fault $f"; continue; }
    FAULTS=$((FAULTS + 1))
    rc=0; MYNA_PKCS11_DEBUG=1 sign "$LIB_TMP/f.log" || rc=$?
    if [ "$mode" = repeat ]; then
      if [ "$rc" -ne 0 ] && ! crashed "$rc" && grep -q 'CKR_DEVICE_ERROR\|CKR_DEVICE_REMOVED' "$LIB_TMP/f.log"; then
        pass "--fault $f: signing fails cleanly with a device error"
      else fail "--fault $f: signing fails cleanly (rc $rc)" "$(cat "$LIB_TMP/f.log")"; fi
    else
      if [ "$rc" -eq 0 ] && grep -q 'sign with the auth key: ' "$LIB_TMP/f.log"; then
        pass "--fault $f: the failed C_Sign is reported and the session signs again"
      else fail "--fault $f: one bad answer, then a good signature (rc $rc)" "$(cat "$LIB_TMP/f.log")"; fi
    fi
    n=$(verifies "$stats")
    if [ "$n" = 1 ]; then pass "--fault $f: exactly one VERIFY reached the card"; else fail "--fault $f: VERIFYs seen by the card: $n (want 1)"; fi
    restart_sim || { fail "serve the card again"; continue; }
    if sign "$LIB_TMP/f2.log"; then pass "--fault $f: the next signature works"; else fail "--fault $f: the next signature works" "$(cat "$LIB_TMP/f2.log")"; fi
  done
done
stop_sim

"$SIM_BIN" --status --state "$STATE" >"$LIB_TMP/status" 2>&1
if grep -Eq '^auth PIN: +3 of 3 tries left' "$LIB_TMP/status" && grep -Eq '^sign password: +5 of 5 tries left' "$LIB_TMP/status"; then
  pass "no PIN try spent (3 of 3, 5 of 5)"; lost=0
else
  fail "no PIN try spent" "$(cat "$LIB_TMP/status")"; lost=1
fi
SCEN=$((N_PASS + N_FAIL)) FAILS=$N_FAIL
if [ -n "${MYNA_RELIABILITY_OUT:-}" ]; then
  printf '{"suite":"pcsc-faults","test":"pcsc.sh","scenarios":%d,"faults":%d,"retries_lost":%d,"failed":%s}\n' \
    "$SCEN" "$FAULTS" "$lost" "$([ "$FAILS" = 0 ] && echo false || echo true)" >>"$MYNA_RELIABILITY_OUT"
fi
echo "pcsc-faults: $SCEN scenarios, $FAULTS faults, $FAILS failed"
[ "$FAILS" = 0 ]
