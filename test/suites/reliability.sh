#!/usr/bin/env bash
# Reliability suite: the module must survive hostile callers,
# fork, threads and faulty cards without crashing and without spending a PIN
# try nobody asked for.
#
#   go test ./test/hostile   hostile.c: calls before init, after finalize,
#                            with NULLs, short buffers, bad handles, templates
#                            and mechanisms, out of order (exact CKR_ codes);
#                            fork after use, before init and while signing;
#                            C threads with small stacks, 16 C threads +
#                            C_WaitForSlotEvent + C_Finalize; plain, ASan+UBSan
#                            and valgrind runs
#   go test ./test/faults    faulty card in-process through the .so: removal
#                            during sign/login/certificate read, reset, swap,
#                            unplug, garbage/truncated/wrong-SW/silent answers
#   test/faults/pcsc.sh      the same kinds of faults through pcscd + vpcd +
#                            myna-sim (--fault, SIGUSR1), pcscd stop/start
#
# Every scenario counts the simulated card's PIN tries and VERIFY commands.
#
#   bash test/suites/reliability.sh            the two packages above
#   bash test/suites/reliability.sh --report   also fuzz.sh and privacy.sh, then
#                                              writes test/RELIABILITY.md from
#                                              the figures the runs recorded
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export PATH="/usr/local/go/bin:$PATH"
export MYNA_PKCS11_LIB=${MYNA_PKCS11_LIB:-$PWD/build/libmyna-pkcs11.so}
report=0
[ "${1:-}" = "--report" ] && report=1
work=$(mktemp -d /tmp/myna-reliability.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MYNA_RELIABILITY_OUT="$work/figures.jsonl"
: >"$MYNA_RELIABILITY_OUT"
fails=0

# gotest NAME ARGS...: runs go test, prints PASS/FAIL; a process killed by a
# signal or a Go crash in the output is recorded as a crash.
gotest() {
  local name=$1; shift
  local out="$work/$name.log" rc=0
  timeout 1200 go test -count=1 -v "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" -ge 124 ] || grep -Eq 'SIGSEGV|SIGABRT|fatal error:|^panic:|unexpected signal' "$out"; then
    printf '{"suite":"%s","test":"process","crashes":1,"failed":true}\n' "$name" >>"$MYNA_RELIABILITY_OUT"
  fi
  if [ "$rc" -eq 0 ]; then
    echo "PASS reliability: $name ($(grep -c -- '--- PASS' "$out") tests and subtests)"
    grep -E 'valgrind:|checked against|calls before login' "$out" | sed 's/^ */    /'
  else
    fails=$((fails + 1))
    printf '{"suite":"%s","test":"go test %s","failed":true}\n' "$name" "$*" >>"$MYNA_RELIABILITY_OUT"
    echo "FAIL reliability: $name (exit $rc)"
    grep -E -- '--- FAIL|Error:|expected|actual|Messages|RESULT|bad line|Memcheck errors|^ +==[0-9]+==' "$out" | sed -n '1,60s/^/    /p'
  fi
}

gotest hostile ./test/hostile
if [ "$report" = 1 ]; then
  gotest faults ./test/faults
  bash test/suites/fuzz.sh || fails=$((fails + 1))
else
  gotest faults -skip 'TestLogHasNoPINsOrPersonalData|TestSignCertificateUnreadableBeforeLogin' ./test/faults
fi

# The same through pcscd + vpcd + myna-sim (one pcscd per machine:
# test/faults/pcsc.sh waits for another one to go, up to MYNA_PCSC_WAIT
# seconds, default 600, through test/lib.sh's start_pcscd).
rc=0; timeout 900 bash test/faults/pcsc.sh >"$work/pcsc.log" 2>&1 || rc=$?
grep -E '^(PASS|FAIL|SKIP)|^pcsc-faults:|^    ' "$work/pcsc.log"
case "$rc" in
  0) ;;
  77) skipped=1; echo "SKIP reliability: PC/SC fault scenarios ($(sed -n 's/^SKIP pcsc-faults: //p' "$work/pcsc.log"))" ;;
  *) fails=$((fails + 1)); echo "FAIL reliability: PC/SC fault scenarios (exit $rc)"; tail -n 20 "$work/pcsc.log" | sed 's/^/    /' ;;
esac

lost=$(grep -o '"retries_lost":[0-9]*' "$MYNA_RELIABILITY_OUT" | awk -F: '{s+=$2} END{print s+0}')
runs=$(grep -o '"scenarios":[0-9]*' "$MYNA_RELIABILITY_OUT" | awk -F: '{s+=$2} END{print s+0}')
echo "reliability: $runs scenarios, $lost PIN retries lost"
[ "$lost" -eq 0 ] || { echo "FAIL reliability: PIN retries were lost"; fails=$((fails + 1)); }

if [ "$report" = 1 ]; then
  go run ./test/faults/report -in "$MYNA_RELIABILITY_OUT" -out test/RELIABILITY.md || fails=$((fails + 1))
fi
echo "reliability: $fails failure(s)"
[ "$fails" -eq 0 ] || exit 1
[ -z "${skipped:-}" ] || exit 77
