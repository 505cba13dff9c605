#!/usr/bin/env bash
# Static checks of the repository, one per call (test/run-all.sh runs each):
#   bash test/static-checks.sh gofmt        gofmt -l prints nothing
#   bash test/static-checks.sh vet          go vet ./...
#   bash test/static-checks.sh mod-tidy     go mod tidy -diff shows no change
#   bash test/static-checks.sh staticcheck  staticcheck ./... (the version
#                                           test/install-deps.sh pins)
#   bash test/static-checks.sh shellcheck   shellcheck on every shell script
#                                           under test/, .ci/ and build/
# Exits non-zero, with what to fix, when the check finds anything.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="/usr/local/go/bin:$PATH"

# shell_scripts: prints every shell script under test/, .ci/ and build/
# (a .sh file, or a file whose first line is a sh/bash #! line).
shell_scripts() {
  local f first
  while IFS= read -r -d '' f; do
    case "$f" in
      *.sh) echo "$f" ;;
      *) IFS= read -r first <"$f" 2>/dev/null || first=""
         case "$first" in '#!'*bash*|'#!'*/sh) echo "$f" ;; esac ;;
    esac
  done < <(find test .ci build -type f -not -path '*/testdata/*' -print0 | sort -z)
}

case "${1:-}" in
  gofmt)
    out=$(gofmt -l .) || exit 1
    if [ -n "$out" ]; then echo "not gofmt-formatted (run gofmt -w on them):"; echo "$out"; exit 1; fi
    echo "gofmt: every Go file is formatted" ;;
  vet)
    go vet ./... && go vet -tags mynatest ./cardos/backend/... && echo "go vet: no findings (also with -tags mynatest)" ;;
  mod-tidy)
    if ! go mod tidy -diff; then echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi
    echo "go mod tidy -diff: clean" ;;
  staticcheck)
    sc="$(go env GOPATH)/bin/staticcheck"
    [ -x "$sc" ] || { echo "staticcheck is not installed: run test/install-deps.sh"; exit 1; }
    "$sc" -version
    "$sc" ./... && "$sc" -tags mynatest ./cardos/backend/... && echo "staticcheck: no findings (also with -tags mynatest)" ;;
  shellcheck)
    command -v shellcheck >/dev/null || { echo "shellcheck is not installed: run test/install-deps.sh"; exit 1; }
    mapfile -t scripts < <(shell_scripts)
    [ "${#scripts[@]}" -gt 20 ] || { echo "found only ${#scripts[@]} shell scripts"; exit 1; }
    shellcheck -x -s bash "${scripts[@]}" && echo "shellcheck: ${#scripts[@]} scripts, no findings" ;;
  *)
    echo "usage: $0 gofmt|vet|mod-tidy|staticcheck|shellcheck" >&2; exit 2 ;;
esac
