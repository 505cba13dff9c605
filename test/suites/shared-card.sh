#!/usr/bin/env bash
# The card is shared: several programs use one simulated
# card at once through pcscd + vpcd + myna-sim, as on a real machine —
# long-lived processes of our module, OpenSC's pkcs11-tool (with our module
# and, a few times, OpenSC's own), and raw PC/SC clients that select other
# applets and files and reset the card. The Go driver test/sharedcard/driver
# generates every ordered pair of operations (list, list objects, token info,
# login auth/sign, sign auth/sign, logout, change-pin, close last session,
# raw applet select, raw EF select, card reset), a seeded sample of triples
# and wrong-PIN interleavings, under the default PIN scope and under
# MYNA_PKCS11_{AUTH,SIGN}_PIN_SCOPE=session, and asserts at every step:
# signatures verify with their own key's certificate and not the other's;
# tries unchanged except by the caller's own wrong PIN (exactly one); only
# documented CKR codes; no hang; the no-PIN window (a raw SIGN without
# VERIFY) where the scope promises it. It prints the window measured over a
# short idle hold, and after a logged-in program is killed (SIGKILL) while
# other programs stay connected (the default scope must refuse throughout).
#
# The coexistence family runs a long-lived program on OpenSC's module beside
# one on ours (every pair of their login/sign/logout/close/token-info/objects
# operations in both orders, and seeded random sequences, both keys, both
# scopes): each OpenSC step must answer what it answers with its own steps
# alone, and the "opensc" summary lines count OpenSC's signatures.
#
#   bash test/suites/shared-card.sh [--repeat N] [driver flags...]
#   MYNA_SHARED_CARD_REPEAT=N  the same as --repeat N
#
# Only one pcscd may run on the machine: the suite waits until no pcscd runs
# (up to MYNA_PCSC_WAIT seconds, default 1200) and SKIPs if it never can.
. "$(dirname "$0")/../lib.sh"

need_module
for tool in pkcs11-tool pcscd openssl; do
  command -v "$tool" >/dev/null || { fail "$tool is installed (test/install-deps.sh)"; finish; }
done

BIN="$T/bin"; mkdir -p "$BIN"
if ! run_to "$T/build.log" bash -c "cd '$ROOT' && go build -o '$BIN/driver' ./test/sharedcard/driver && go build -o '$BIN/p11prog' ./test/sharedcard/p11prog"; then
  fail "build the shared-card driver and p11prog" "$(tail -n 20 "$T/build.log")"; finish
fi

check "the generator covers every ordered pair in every kind of program (go test ./test/sharedcard/...)" \
  bash -c "cd '$ROOT' && go test -count=1 ./test/sharedcard/..."

card_init                 # fresh card $STATE, our labels, AUTH_CERT
SIGN_CERTS="$T/sign-certs"; mkdir -p "$SIGN_CERTS"   # personal data: stays in $T, never printed
if ! run_to "$T/export-sign.log" "$SIM" --export-certs "$SIGN_CERTS" --include-sign-cert --state "$STATE"; then
  fail "export the sign certificate for the signature checks" "$(cat "$T/export-sign.log")"; finish
fi
unset MYNA_PKCS11_SIM     # from here on every program goes through PC/SC

if ! MYNA_PCSC_WAIT=${MYNA_PCSC_WAIT:-1200} start_pcscd 2>"$T/pcscd-start.log"; then
  if [ -n "$PCSCD_BUSY" ]; then
    skip "programs sharing the card through pcscd" "another pcscd kept running; only one may run"
  else
    fail "start pcscd with vpcd" "$(tail -n 10 "$T/pcscd-start.log")"
  fi
  finish
fi
waited=$PCSCD_WAITED
pass "start pcscd (pid $PCSCD_PID, after waiting ${waited}s for the machine's pcscd to be free)"
if ! start_sim "$STATE" 35963 --stats-file "$T/stats.json"; then
  fail "serve the simulated card to vpcd"; finish
fi
pass "simulated card in '$SIM_READER'"

args=("$@") repeat=${MYNA_SHARED_CARD_REPEAT:-1}
if [ "${1:-}" = --repeat ]; then repeat=${2:-1}; args=(-repeat "$repeat" "${@:3}"); fi
rc=0
TMO=$((900 * repeat)) run_to "$T/driver.log" "$BIN/driver" \
  -module "$MOD" -p11prog "$BIN/p11prog" -sim "$SIM" -state "$STATE" -reader "$SIM_READER" -dir "$T" \
  -auth-cert "$AUTH_CERT" -sign-cert "$SIGN_CERTS/sign-cert.pem" \
  -auth-label "$AUTH_TOKEN_LABEL" -sign-label "$SIGN_TOKEN_LABEL" "${args[@]}" || rc=$?
cat "$T/driver.log"
if [ "$rc" -eq 0 ]; then
  pass "every generated interleaving of two and three programs on one card (see the summary lines above)"
else
  fail "every generated interleaving of two and three programs on one card" "driver exit $rc; the FAIL lines and summaries above say which steps"
fi
stop_sim
check_tries
finish
