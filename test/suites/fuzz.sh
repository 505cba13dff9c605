#!/usr/bin/env bash
# Fuzzing suite: runs every go test -fuzz target of the project for a bounded
# time each (MYNA_FUZZTIME, default 10s) on top of its committed seed corpus
# (testdata/fuzz/<Target>/). A failing input is written by Go to
# testdata/fuzz/<Target>/ of its package: commit it with the fix.
#
#   bash test/suites/fuzz.sh                 # 10 s per target
#   MYNA_FUZZTIME=10m bash test/suites/fuzz.sh   # the longer run (see README)
#
# With MYNA_RELIABILITY_OUT=FILE it appends one JSON line per target with
# its exec count (used by test/suites/reliability.sh --report).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export PATH="/usr/local/go/bin:$PATH"
FUZZTIME=${MYNA_FUZZTIME:-10s}
TARGETS=(
  "./cardos/apdu FuzzParse"
  "./cardos/apdu FuzzCommandRoundTrip"
  "./cardos/apdu FuzzParseResponse"
  "./cardos/jpki FuzzCertLength"
  "./cardos/jpki FuzzReadCertificate"
  "./cardos/sim FuzzProcess"
  "./p11 FuzzFindAndGetAttributes"
  "./p11 FuzzLoginPIN"
)
log=$(mktemp -d /tmp/myna-fuzz.XXXXXX)
trap 'rm -rf "$log"' EXIT
fails=0 total=0
for t in "${TARGETS[@]}"; do
  # shellcheck disable=SC2086  # $t is "NAME PACKAGE", split on purpose
  set -- $t
  pkg=$1 name=$2
  out="$log/$name.log"
  ok=0
  for _ in 1 2; do
    if timeout 600 go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$pkg" >"$out" 2>&1; then ok=1; break; fi
    # Go's fuzz coordinator can end a loaded run with "context deadline
    # exceeded" and no failing input (a tooling hiccup, not a finding): retry once.
    # shellcheck disable=SC2015  # retry only when it timed out AND wrote no failing input
    grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out" || break
    echo "note fuzz: $pkg $name: fuzz coordinator deadline without a failing input; running it again"
  done
  if [ "$ok" = 1 ]; then
    execs=$(grep -o 'execs: [0-9]*' "$out" | tail -n 1 | grep -o '[0-9]*')
    execs=${execs:-0}
    total=$((total + execs))
    echo "PASS fuzz: $pkg $name ($FUZZTIME, $execs execs)"
    st=ok
  else
    fails=$((fails + 1))
    echo "FAIL fuzz: $pkg $name"; grep -v '^fuzz: elapsed' "$out" | tail -n 30 | sed 's/^/    /'
    execs=0 st=fail
  fi
  if [ -n "${MYNA_RELIABILITY_OUT:-}" ]; then
    printf '{"suite":"fuzz","test":"%s %s","fuzz_execs":%d,"failed":%s,"fuzztime":"%s"}\n' \
      "$pkg" "$name" "$execs" "$([ "$st" = ok ] && echo false || echo true)" "$FUZZTIME" >>"$MYNA_RELIABILITY_OUT"
  fi
done
echo "fuzz: ${#TARGETS[@]} targets, $total execs, $fails failed"
[ "$fails" -eq 0 ]
