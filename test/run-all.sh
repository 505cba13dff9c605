#!/usr/bin/env bash
# Runs every test of myna-pkcs11 and prints one line per suite, then a
# closing "N passed, N failed" line. Exits non-zero if any suite failed.
# Called by `make test` (which builds the module first) and by .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export MYNA_PKCS11_LIB="$PWD/build/libmyna-pkcs11.so"
logdir="build/out/test-logs"; mkdir -p "$logdir"
pass=0; fail=0; failed=()

run() { # run NAME COMMAND...
  local name=$1; shift
  local log="$logdir/$name.log"
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    pass=$((pass+1)); printf 'PASS  %-28s (%ds)\n' "$name" $((SECONDS-t0))
  else
    fail=$((fail+1)); failed+=("$name"); printf 'FAIL  %-28s (%ds) — log: %s\n' "$name" $((SECONDS-t0)) "$log"
    tail -n 40 "$log" | sed 's/^/      /'
  fi
}

run go-vet            go vet ./...
run go-unit-race      go test -race -count=1 ./cardos/... ./p11/... ./test/firefox/...
run go-cabi-layer       go test -count=1 ./c/...
run apdu-budget         go test -count=1 ./test/apdubudget/...
run go-abi            go test -count=1 ./test/abi/...
run conformance         go test -count=1 ./test/conformance/...
run c-harness         go test -count=1 ./test/cabi/...
run opensc-on-simulator   bash test/opensc-sim.sh
run pcsc-on-simulator     bash test/pcsc-sim.sh
for s in test/suites/*.sh; do
  [ -e "$s" ] || continue
  case "$(basename "$s")" in common.sh|lib*.sh) continue;; esac
  run "$(basename "$s" .sh)" bash "$s"
done

echo
for f in "${failed[@]}"; do echo "failed: $f (see $logdir/$f.log)"; done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
