#!/usr/bin/env bash
# Another card in the reader while a program stays logged in, through the
# real PC/SC stack (pcscd + vpcd + myna-sim). A long-lived program of ours
# (test/sharedcard/p11prog, as ssh-agent or a signing service would be)
# logs in to card 1 and signs with both keys, then stays idle while pcscd
# stops, card 2 goes into the same reader and pcscd starts again. Card 2
# has the same PINs as card 1 or other ones; the program calls
# C_GetSlotList while pcscd is down or stays idle throughout; each in the
# default (operation) PIN scope and in session scope. Checked once pcscd
# is back:
#   - no signature on card 1's sessions (each returned signature is
#     verified against both cards' certificates), and card 1's sessions
#     no longer say logged in;
#   - C_GetTokenInfo shows card 2's serial (the one a freshly started
#     program sees);
#   - a new session on card 2's tokens is not logged in and cannot sign;
#   - a login with card 2's PINs signs with card 2's keys;
#   - no PIN try was spent on either card (myna-sim --status).
# Then the same card across a pcscd restart (operation scope: the next
# C_Sign signs; session scope: the card lost power, CKR_USER_NOT_LOGGED_IN,
# then a login signs), and the card taken out in the middle of C_Sign and
# of C_Login (myna-sim --fault remove --fault-on-usr2): CKR_DEVICE_REMOVED,
# no try spent, and a login on the card put back signs.
#
# Each scenario starts its own pcscd, so that card 2 (or the same card)
# comes back with the same pcscd event count as card 1 had: a count that
# changed would give the swap away, and the module must not depend on it.
# Every return code is printed as it came back.
#
#   MYNA_CARD_SWAP_MATCH=TEXT  run only the scenarios whose name contains TEXT
#
# Only one pcscd may run on the machine: the suite waits for it
# (MYNA_PCSC_WAIT) and SKIPs if it never can.
. "$(dirname "$0")/../lib.sh"

need_module
for tool in pcscd openssl basenc; do
  command -v "$tool" >/dev/null || { fail "$tool is installed (test/install-deps.sh)"; finish; }
done
unset MYNA_PKCS11_SIM MYNA_PKCS11_SIM_CONTROL MYNA_PKCS11_AUTH_PIN_SCOPE MYNA_PKCS11_SIGN_PIN_SCOPE

BIN="$T/bin"; mkdir -p "$BIN"
if ! run_to "$T/build.log" bash -c "cd '$ROOT' && go build -o '$BIN/p11prog' ./test/sharedcard/p11prog && go build -o '$BIN/driver' ./test/sharedcard/driver"; then
  fail "build p11prog and the shared-card driver" "$(tail -n 20 "$T/build.log")"; finish
fi

# The cards: c1 (1234 / ABC123); same: other keys, the same PINs; other:
# other keys and PINs. Their certificates (the sign certificate is personal
# data: it stays in $T) give the public keys every signature is checked
# against. Each scenario serves fresh copies, so every one starts with
# every try left.
declare -A PIN_AUTH=([c1]=1234 [same]=1234 [other]=5678) PIN_SIGN=([c1]=ABC123 [same]=ABC123 [other]=XYZ789)
for c in c1 same other; do
  if ! run_to "$T/init-$c.log" "$SIM" --init --state "$T/$c.json" --auth-pin "${PIN_AUTH[$c]}" --sign-pin "${PIN_SIGN[$c]}" ||
    ! run_to "$T/export-$c.log" "$SIM" --export-certs "$T/certs-$c" --include-sign-cert --state "$T/$c.json"; then
    fail "create and export card $c" "$(cat "$T/init-$c.log" "$T/export-$c.log" 2>/dev/null)"; finish
  fi
  for k in auth sign; do
    openssl x509 -in "$T/certs-$c/$k-cert.pem" -noout -pubkey >"$T/pub-$c-$k.pem" ||
      { fail "public key of card $c's $k certificate"; finish; }
  done
done
printf 'card swap\n' >"$T/msg"
MSG=$(od -An -tx1 "$T/msg" | tr -d ' \n')

if ! start_pcscd 2>"$T/pcscd-start.log"; then
  if [ -n "$PCSCD_BUSY" ]; then
    skip "a card swap through pcscd" "another pcscd kept running; only one may run"
  else
    fail "start pcscd with vpcd" "$(tail -n 10 "$T/pcscd-start.log")"
  fi
  finish
fi

# --- the program ----------------------------------------------------------------

# prog_start SCOPE C1 C2: starts p11prog (PROG_PID; commands on fd PROG_IN,
# answers on fd PROG_OUT) in SCOPE (operation or session), with card C1's
# PINs as "good" and card C2's as "alt" (proto.PINEnv).
prog_start() {
  local scope_env=()
  [ "$1" = operation ] || scope_env=(MYNA_PKCS11_AUTH_PIN_SCOPE=session MYNA_PKCS11_SIGN_PIN_SCOPE=session)
  rm -f "$T/prog.in" "$T/prog.out"; mkfifo "$T/prog.in" "$T/prog.out"
  env "${scope_env[@]}" MYNA_TEST_AUTH_PIN_GOOD="${PIN_AUTH[$2]}" MYNA_TEST_SIGN_PIN_GOOD="${PIN_SIGN[$2]}" \
    MYNA_TEST_AUTH_PIN_ALT="${PIN_AUTH[$3]}" MYNA_TEST_SIGN_PIN_ALT="${PIN_SIGN[$3]}" \
    "$BIN/p11prog" -module "$MOD" <"$T/prog.in" >"$T/prog.out" 2>>"$T/p11prog.log" &
  PROG_PID=$!
  PIDS+=("$PROG_PID")
  exec {PROG_IN}>"$T/prog.in" {PROG_OUT}<"$T/prog.out"
}

# ask LINE: sends LINE to the program and sets A to its one-line answer.
ask() {
  A='{"err":"the program is gone"}'
  # In a subshell: a write to a program that died kills only the subshell (SIGPIPE).
  (printf '%s\n' "$1" >&"$PROG_IN") 2>/dev/null || return 1
  IFS= read -r -t "$TMO" A <&"$PROG_OUT" || A='{"err":"no answer (hang or crash)"}'
}

# prog_quit: C_Finalize, then the program must exit (stopped by PID if not).
prog_quit() {
  local i
  ask quit
  exec {PROG_IN}>&- {PROG_OUT}<&-
  for i in $(seq 100); do kill -0 "$PROG_PID" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$PROG_PID"
}

# field NAME JSON: the string value of NAME in the answer JSON ("" if none).
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"; }

# rv: what the last answer returned: its CK_RV (and the call), or its error.
rv() {
  local e; e=$(field err "$A")
  printf '%s%s%s' "$(field rv "$A")" "$(field call "$A" | sed 's/^./ (&/; s/.$/&)/')" "${e:+ error: $e}"
}

# signed_by CARDS...: the keys of CARDS the last answer's signature verifies
# with ("c1-auth", ...), "none", or "no signature".
signed_by() {
  local hex c k out=""
  hex=$(field sig "$A")
  [ -n "$hex" ] || { echo "no signature"; return; }
  tr a-f A-F <<<"$hex" | tr -d '\n' | basenc --base16 -d >"$T/sig.bin" 2>/dev/null || { echo "undecodable"; return; }
  for c in "$@"; do
    for k in auth sign; do
      openssl dgst -sha256 -verify "$T/pub-$c-$k.pem" -signature "$T/sig.bin" "$T/msg" >/dev/null 2>&1 && out+="$c-$k "
    done
  done
  echo "${out:-none}"
}

# expect_signed WHAT KEY CARDS...: PASS when the last answer is CKR_OK with
# a signature that verifies with KEY (e.g. c1-auth) and no other key of CARDS.
expect_signed() {
  local what=$1 key=$2 by; shift 2
  by=$(signed_by "$@")
  if [ "$(field rv "$A")" = CKR_OK ] && [ "$by" = "$key " ]; then pass "$what: CKR_OK, signed by $key"
  else fail "$what" "got $(rv), signature verifies with: $by (want $key)"; fi
}

# expect_no_signature WHAT CARDS...: PASS when the last answer carries no
# signature (any CK_RV but CKR_OK); prints what came back either way.
expect_no_signature() {
  local what=$1 by; shift
  by=$(signed_by "$@")
  if [ "$(field rv "$A")" != CKR_OK ] && [ "$by" = "no signature" ] && [ -z "$(field err "$A")" ]; then
    pass "$what: $(rv)"
  else fail "$what" "got $(rv), signature verifies with: $by"; fi
}

# expect_rv WHAT RV...: PASS when the last answer's CK_RV is one of RV.
expect_rv() {
  local what=$1 got; shift
  got=$(field rv "$A")
  for r in "$@"; do
    if [ "$got" = "$r" ] && [ -z "$(field err "$A")" ]; then pass "$what: $(rv)"; return 0; fi
  done
  fail "$what" "got $(rv), want one of: $*"; return 1
}

# expect_tries WHAT STATE: PASS when card STATE still has 3 auth and 5 sign tries.
expect_tries() {
  local got; got=$(tries_left "$2")
  if [ "$got" = "3 5" ]; then pass "$1: 3 auth and 5 sign tries left"
  else fail "$1" "myna-sim --status: auth and sign tries left: $got (want 3 5)"; fi
}

# fresh_serial: the serial a program started now sees on the auth token.
fresh_serial() {
  local a
  a=$(printf 'tokeninfo\n' | timeout -k 5 "$TMO" "$BIN/p11prog" -module "$MOD" 2>>"$T/p11prog.log")
  field auth "$a"
}

# open_session WHAT TOK: C_OpenSession on TOK's slot; if that fails (the
# module may not know yet what the reader holds), C_GetSlotList first, as
# an application does after CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT.
open_session() {
  ask "open $2"
  [ "$(field rv "$A")" != CKR_OK ] || return 0
  info "$1: C_OpenSession on the $2 slot: $(rv); C_GetSlotList, then again"
  ask list; ask "open $2"
}

# login_and_sign WHAT C: logs in to both tokens with card C's PINs (PIN name
# good) and signs once with each key: the start of every scenario.
login_and_sign() {
  local tok ok=1
  for tok in auth sign; do
    ask "login $tok good"; [ "$(field rv "$A")" = CKR_OK ] || { ok=0; break; }
    ask "sign $tok $MSG"; [ "$(signed_by "$2")" = "$2-$tok " ] || { ok=0; break; }
  done
  if [ "$ok" = 1 ]; then pass "$1: logged in to card $2 and signed with both keys"
  else fail "$1: log in to card $2 and sign with both keys" "$tok: $(rv)"; fi
}

# --- scenarios ---------------------------------------------------------------------

# begin NAME: false when MYNA_CARD_SWAP_MATCH leaves NAME out; else starts a
# fresh pcscd (card 1 will be its first insertion).
begin() {
  [[ "$1" == *"${MYNA_CARD_SWAP_MATCH:-}"* ]] || return 1
  stop_pcscd
  start_pcscd || { fail "$1: start pcscd"; return 1; }
}

# swap SCOPE C2 LIST: card 1, then card C2 (same or other) while pcscd is
# down; LIST=list makes the program call C_GetSlotList while pcscd is down.
swap() {
  local scope=$1 c2=$2 list=$3 name tok try serial1 want got state
  name="[$scope] swap to a card with $c2 PINs, $([ "$list" = list ] && echo "C_GetSlotList while pcscd was down" || echo "program idle")"
  begin "$name" || return
  cp "$T/c1.json" "$T/run-c1.json"; cp "$T/$c2.json" "$T/run-c2.json"
  start_sim "$T/run-c1.json" || { fail "$name: serve card 1"; return; }
  prog_start "$scope" c1 "$c2"
  login_and_sign "$name" c1
  ask tokeninfo; serial1=$(field auth "$A")

  stop_pcscd
  if [ "$list" = list ]; then
    ask list; got=$(sed -n 's/.*"n":\([0-9]*\).*/\1/p' <<<"$A")
    info "$name: C_GetSlotList with pcscd down: $(field rv "$A"), ${got:-0} of our 2 tokens"
  fi
  stop_sim
  start_pcscd || { fail "$name: restart pcscd"; prog_quit; return; }
  start_sim "$T/run-c2.json" || { fail "$name: serve card 2"; prog_quit; return; }

  # Twice, as a program retries after an error: each must fail.
  for try in first second; do
    for tok in auth sign; do
      ask "sign $tok $MSG"
      expect_no_signature "$name: $try C_Sign on card 1's $tok session" c1 "$c2"
    done
  done
  for tok in auth sign; do
    ask "sessioninfo $tok"; state=$(field state "$A")
    case "$(field rv "$A"):$state" in
      CKR_OK:*USER_FUNCTIONS) fail "$name: card 1's $tok session no longer says logged in" "C_GetSessionInfo: $state" ;;
      *) pass "$name: card 1's $tok session no longer says logged in: $(rv)${state:+ $state}" ;;
    esac
  done
  want=$(fresh_serial)
  ask tokeninfo; got=$(field auth "$A")
  if [ -n "$want" ] && [ "$want" != "$serial1" ] && [ "$got" = "$want" ]; then
    pass "$name: C_GetTokenInfo shows card 2's serial $want (card 1: $serial1)"
  else fail "$name: C_GetTokenInfo shows card 2's serial" "got '$got' ($(rv)); card 2 (a new program): '$want'; card 1: '$serial1'"; fi
  for tok in auth sign; do
    open_session "$name" "$tok"
    expect_rv "$name: a new session on card 2's $tok token" CKR_OK || continue
    ask "sessioninfo $tok"; state=$(field state "$A")
    if [ "$(field rv "$A")" = CKR_OK ] && [ "$state" = CKS_RW_PUBLIC_SESSION ]; then
      pass "$name: the new $tok session is not logged in: $state"
    else fail "$name: the new $tok session is not logged in" "C_GetSessionInfo: $(rv) $state"; fi
    ask "sign $tok $MSG"
    expect_no_signature "$name: C_Sign without a login in the new $tok session" c1 "$c2"
  done
  # Before any login to card 2: a successful VERIFY refills the counter
  # and would hide a try spent by card 1's PIN.
  expect_tries "$name: card 2 before a login to it" "$T/run-c2.json"
  for tok in auth sign; do
    ask "login $tok alt"
    expect_rv "$name: C_Login with card 2's $tok PIN" CKR_OK
    ask "sign $tok $MSG"
    expect_signed "$name: C_Sign after that login" "$c2-$tok" c1 "$c2"
  done
  prog_quit
  stop_sim
  expect_tries "$name: card 1" "$T/run-c1.json"
  expect_tries "$name: card 2 at the end" "$T/run-c2.json"
}

# restart SCOPE: the same card across a pcscd restart (the card loses power).
restart() {
  local scope=$1 name="[$1] the same card across a pcscd restart" tok i
  begin "$name" || return
  cp "$T/c1.json" "$T/run-c1.json"
  start_sim "$T/run-c1.json" || { fail "$name: serve the card"; return; }
  prog_start "$scope" c1 c1
  login_and_sign "$name" c1
  stop_pcscd
  start_pcscd || { fail "$name: restart pcscd"; prog_quit; return; }
  for i in $(seq 100); do reader_has_card "$SIM_READER" && break; sleep 0.1; done
  for tok in auth sign; do
    ask "sign $tok $MSG"
    if [ "$scope" = operation ]; then
      expect_signed "$name: the next C_Sign with the $tok key" "c1-$tok" c1
    else
      # The card lost its verified PINs: not logged in (NO_KEY: the private
      # key is hidden because the token is logged out, as a logout of one
      # token logs out both).
      expect_rv "$name: the next C_Sign with the $tok key (the card lost its verified PINs)" CKR_USER_NOT_LOGGED_IN NO_KEY
      ask "login $tok good"
      expect_rv "$name: C_Login to the $tok token again" CKR_OK
      ask "sign $tok $MSG"
      expect_signed "$name: C_Sign after that login" "c1-$tok" c1
    fi
  done
  prog_quit
  stop_sim
  expect_tries "$name: the card" "$T/run-c1.json"
}

# removed SCOPE OP: the card leaves the reader at the first SIGN (OP sign)
# or VERIFY (OP login) after the program's start-up; then it is put back.
removed() {
  local scope=$1 op=$2 ins name tok=auth i armed events
  ins=$([ "$op" = sign ] && echo 2A || echo 20)
  name="[$scope] the card taken out during C_$([ "$op" = sign ] && echo Sign || echo Login)"
  begin "$name" || return
  cp "$T/c1.json" "$T/run-c1.json"
  start_sim "$T/run-c1.json" 35963 --fault "remove,ins=$ins" --fault-on-usr2 || { fail "$name: serve the card"; return; }
  prog_start "$scope" c1 c1
  if [ "$op" = sign ]; then
    ask "login $tok good"; expect_rv "$name: C_Login before" CKR_OK
  else
    ask "open $tok"
  fi
  events=$("$BIN/driver" -reader "$SIM_READER" -events-after -1)
  armed=$(grep -c 'SIGUSR2: fault' "$T/sim.log")
  kill -USR2 "$SIM_PID"
  for i in $(seq 100); do [ "$(grep -c 'SIGUSR2: fault' "$T/sim.log")" -gt "$armed" ] && break; sleep 0.1; done
  if [ "$op" = sign ]; then ask "sign $tok $MSG"; else ask "login $tok good"; fi
  expect_rv "$name" CKR_DEVICE_REMOVED
  # The card back in once pcscd's reader poll counted it gone: a card
  # back before that poll is never seen as inserted when the reader state
  # was set by a failed reset (pcsc-lite's SCardEndTransaction with
  # SCARD_RESET_CARD on a card that left).
  run_to "$T/events.log" "$BIN/driver" -reader "$SIM_READER" -events-after "${events:-0}" ||
    fail "$name: pcscd counts the card's removal" "$(cat "$T/events.log")"
  kill -USR1 "$SIM_PID"
  for i in $(seq 100); do reader_has_card "$SIM_READER" && break; sleep 0.1; done
  open_session "$name" "$tok"
  ask "login $tok good"
  expect_rv "$name: C_Login in a new session once the card is back" CKR_OK
  ask "sign $tok $MSG"
  expect_signed "$name: C_Sign after that login" "c1-$tok" c1
  prog_quit
  stop_sim
  expect_tries "$name: the card" "$T/run-c1.json"
}

for scope in operation session; do
  for c2 in other same; do
    for list in idle list; do swap "$scope" "$c2" "$list"; done
  done
  restart "$scope"
  removed "$scope" sign
  removed "$scope" login
done
finish
