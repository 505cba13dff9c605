#!/usr/bin/env bash
# PC/SC integration test of cardos/pcsc and cardos/jpki: a private pcscd
# with vsmartcard's vpcd, the simulated My Number Card served to vpcd by
# the Go test itself (sim.ServeVPCD), then
#   1. MYNA_TEST_PCSC=1 go test -run PCSC ./cardos/pcsc
#      token name, certificate, verify, sign over PC/SC; reset by another
#      application; logout; removal and reinsertion; WaitChange cancel.
#   2. with pcscd stopped: MYNA_TEST_PCSC_RESTART=1 go test -run PCSCRestart
#      the test starts and stops its own pcscd (by PID) to check that a
#      Context made while pcscd was down works once it is up, and again
#      after a restart.
# Only one pcscd can run on a machine: when another one is running (another
# engineer's test), this script waits for it to go away (up to
# MYNA_PCSC_WAIT seconds, default 600) instead of touching it. Everything
# this script starts is stopped by PID (the lib.sh EXIT trap).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1


go test -race -c -o "$LIB_TMP/pcsc.test" ./cardos/pcsc || { fail "build the cardos/pcsc test binary"; finish; }

start_pcscd || { fail "start pcscd"; finish; }
pass "start pcscd (pid $PCSCD_PID)"

if MYNA_TEST_PCSC=1 timeout 300 "$LIB_TMP/pcsc.test" -test.run 'PCSC' -test.v >"$LIB_TMP/phase1.log" 2>&1; then
  pass "PC/SC with the simulated card ($(grep -c -- '--- PASS' "$LIB_TMP/phase1.log") tests and subtests passed)"
else
  fail "PC/SC with the simulated card; log:"; sed 's/^/      /' "$LIB_TMP/phase1.log" | tail -n 60
fi

stop_pcscd
pass "stop pcscd"

if MYNA_TEST_PCSC_RESTART=1 timeout 300 "$LIB_TMP/pcsc.test" -test.run 'PCSCRestart' -test.v >"$LIB_TMP/phase2.log" 2>&1; then
  if grep -q -- '--- SKIP' "$LIB_TMP/phase2.log"; then
    fail "pcscd restart test skipped; log:"; sed 's/^/      /' "$LIB_TMP/phase2.log" | tail -n 20
  else
    pass "Context survives pcscd down/up/restart"
  fi
else
  fail "pcscd restart; log:"; sed 's/^/      /' "$LIB_TMP/phase2.log" | tail -n 60
fi

finish
