#!/usr/bin/env bash
# Soak tests of the test suite itself: is every result the same run after run?
#
#   bash test/soak.sh [N]                  `make test` N times (default 5), each in
#                                          a fresh clone of the committed HEAD, then
#                                          passes/failures/skips per suite
#   bash test/soak.sh --status-checks [N]  every shell check of the simulated card's
#                                          status (myna-sim --status), each N times
#                                          (default 200) in isolation, on a fresh card
#
# `make soak` runs the first (SOAK_N=5). A clone sees only committed work.
# Exits non-zero when any run or check failed. Extra arguments after N are
# passed to make (e.g. CI=true).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"

# soak_make N MAKEARGS...: make test N times in fresh clones.
soak_make() {
  local n=$1; shift
  local work i rc line verdict name total_fail=0
  work=$(mktemp -d /tmp/myna-soak.XXXXXX)
  declare -A P=() F=() S=()
  local names=()
  for i in $(seq "$n"); do
    local clone="$work/clone-$i" log="$work/run-$i.log" t0=$SECONDS
    git clone --quiet --no-hardlinks "$ROOT" "$clone" || { echo "soak: git clone failed" >&2; return 1; }
    rc=0; make -C "$clone" --no-print-directory test "$@" >"$log" 2>&1 || rc=$?
    echo "soak: run $i of $n: exit $rc in $((SECONDS - t0))s: $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" || echo 'no closing line')"
    [ "$rc" -eq 0 ] || total_fail=$((total_fail + 1))
    while IFS= read -r line; do
      verdict=${line%% *}
      name=$(awk '{print $2}' <<<"$line")
      [ -n "${P[$name]+x}" ] || { names+=("$name"); P[$name]=0; F[$name]=0; S[$name]=0; }
      case "$verdict" in
        PASS) P[$name]=$((P[$name] + 1)) ;;
        FAIL) F[$name]=$((F[$name] + 1)) ;;
        SKIP) S[$name]=$((S[$name] + 1)) ;;
      esac
    done < <(grep -E '^(PASS|FAIL|SKIP)  ' "$log")
    rm -rf "$clone"
  done
  echo
  printf '%-28s %6s %6s %6s\n' suite passed failed skipped
  for name in "${names[@]}"; do
    printf '%-28s %6d %6d %6d\n' "$name" "${P[$name]}" "${F[$name]}" "${S[$name]}"
  done
  echo "soak: $n runs of make test, $total_fail failed (logs: $work)"
  [ "$total_fail" -eq 0 ]
}

# soak_status N: each status check of test/lib.sh (and the pipeline it
# replaced, for reference) N times on one fresh simulated card.
soak_status() {
  local n=$1
  # shellcheck source=test/lib.sh
  . "$ROOT/test/lib.sh"
  [ -x "$SIM" ] || build_sim || return 1
  STATE="$T/card.state"
  "$SIM" --init --state "$STATE" >/dev/null 2>&1 || { echo "soak: myna-sim --init failed" >&2; return 1; }
  # Each check: a name and a command that must succeed on a fresh card.
  local -a names=(check_tries tries_left sim_status-auth sign-password-status)
  status_check() {
    case "$1" in
      check_tries) local out; out=$(check_tries); [[ "$out" == PASS* ]] ;;
      tries_left) [ "$(tries_left "$STATE")" = "3 5" ] ;;
      sim_status-auth) local s; s=$(sim_status "$STATE"); grep -q 'auth PIN: *3 of 3 tries left' <<<"$s" ;;
      sign-password-status) local s; s=$("$SIM" --status --state "$STATE" 2>&1); grep -Eq '^sign password: +5 of 5 tries left' <<<"$s" ;;
      # The pipeline test/opensc-sim.sh had (SIGPIPE under pipefail): for reference only.
      old-pipe) "$SIM" --state "$STATE" --status 2>&1 | grep -q 'auth PIN: *3 of 3 tries left' ;; # shlint:allow (the reference)
    esac
  }
  local name i bad total_bad=0
  for name in "${names[@]}" old-pipe; do
    bad=0
    for i in $(seq "$n"); do status_check "$name" >/dev/null 2>&1 || bad=$((bad + 1)); done
    if [ "$name" = old-pipe ]; then
      echo "reference: the removed pipeline (myna-sim --status piped into grep -q) failed $bad of $n"
    else
      echo "status check $name: $((n - bad)) of $n passed, $bad failed"
      total_bad=$((total_bad + bad))
    fi
  done
  echo "soak: $(( ${#names[@]} * n )) status checks, $total_bad failed"
  [ "$total_bad" -eq 0 ]
}

case "${1:-}" in
  --status-checks) soak_status "${2:-200}" ;;
  ''|[0-9]*) n=${1:-5}; [ $# -gt 0 ] && shift; soak_make "$n" "$@" ;;
  *) echo "usage: $0 [N [MAKEARGS...]] | --status-checks [N]" >&2; exit 2 ;;
esac
