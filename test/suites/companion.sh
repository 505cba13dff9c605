#!/usr/bin/env bash
# The companion command build/out/myna-pkcs11 against fresh simulated cards
# (MYNA_PKCS11_SIM), checked from the outside with myna-sim --status and with
# the module through pkcs11-tool:
#   - status as text and --json; tries left correct and unchanged by status;
#   - the signature certificate's personal data only with --show-sign-cert
#     and the password;
#   - change-pin for both PINs with --pin-stdin, the new PIN then works
#     through the module; malformed new PINs refused without touching the
#     card; a "no" to the confirmation changes nothing;
#   - the last-try refusal: auth PIN brought to 1 try with wrong PINs through
#     pkcs11-tool, change-pin refuses without --force-last-try and the
#     counter stays at 1;
#   - expiry and renewal lines for a normal and an --expired card; locked,
#     face-authentication and no-signature-certificate cards called out;
#   - pcscd not running is reported with how to start it.
. "$(dirname "$0")/../lib.sh"

CMD=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
need_module
[ -x "$CMD" ] || { fail "companion command is built" "missing $CMD (make build/out/myna-pkcs11)"; finish; }
AUTH_LABEL="My Number Card (Auth)"
SIGN_LABEL="My Number Card (Sign)"
HOLDER_NAME="見本 花子"      # the simulator's default (fictional) holder
HOLDER_ADDR="見本町"

# new_card NAME [myna-sim profile flags...]: creates $T/NAME.state and points
# the module and the command at it.
new_card() {
  local name=$1; shift
  STATE="$T/$name.state"
  if ! run_to "$T/init-$name.log" "$SIM" --init --state "$STATE" "$@"; then
    fail "create simulated card $name" "$(cat "$T/init-$name.log")"; finish
  fi
  export MYNA_PKCS11_SIM="$STATE"
}

# sim_tries: prints "AUTH SIGN" tries left as the simulator stores them.
sim_tries() { tries_left "$STATE"; }

# expect_tries WHAT "A S": PASS when the card has A auth and S sign tries.
expect_tries() {
  local got; got=$(sim_tries)
  if [ "$got" = "$2" ]; then pass "$1 (myna-sim --status: auth/sign tries $got)"
  else fail "$1" "expected tries '$2', myna-sim --status says '$got'"; fi
}

# companion LOG STDIN ARGS...: runs the command with STDIN (a string) as
# standard input; stdout+stderr in LOG; returns its exit status.
companion() {
  local log=$1 in=$2; shift 2
  printf '%s' "$in" >"$T/stdin"
  RUN_STDIN="$T/stdin" run_to "$log" "$CMD" "$@"
}

# expect_rc WHAT WANT LOG GOT
expect_rc() {
  if [ "$4" -eq "$2" ]; then pass "$1 (exit $4)"; return 0; fi
  fail "$1" "exit $4, wanted $2:"$'\n'"$(tail -n 15 "$3")"; return 1
}

# not_in WHAT FILE STRING: PASS when FILE does not contain STRING.
not_in() {
  if grep -qF -- "$3" "$2"; then fail "$1" "found '$3' in $2"; return 1; fi
  pass "$1"
}

# json_check WHAT FILE PYTHON-EXPR: PASS when the expression over r (the
# parsed JSON) is true.
json_check() {
  if python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
sys.exit(0 if ok else 1)' "$2" "$3" 2>"$T/py.log"; then pass "$1"
  else fail "$1" "false: $3"$'\n'"$(cat "$T/py.log")"$'\n'"$(head -c 1500 "$2")"; fi
}

# p11_login LOG LABEL PIN: pkcs11-tool login on the token and list objects.
p11_login() {
  run_to "$1" pkcs11-tool --module "$MOD" --token-label "$2" --login --pin "$3" --list-objects
}

# login_ok WHAT LABEL PIN: PASS when pkcs11-tool logs in and sees the private key.
login_ok() {
  local log="$T/login-$N_PASS-$N_FAIL.log" rc=0
  p11_login "$log" "$2" "$3" || rc=$?
  if [ "$rc" -eq 0 ] && grep -q 'Private Key Object' "$log"; then pass "$1"
  else fail "$1" "exit $rc:"$'\n'"$(tail -n 10 "$log")"; fi
}

# --- status on a fresh card -------------------------------------------------------
new_card main
rc=0; companion "$T/status.log" "" status || rc=$?
expect_rc "status on a fresh card" 0 "$T/status.log" "$rc"
sed 's/^/    | /' "$T/status.log"
expect_in "status shows the token name from EF 0006" "$T/status.log" 'token name JPKIAPICCTOKEN2'
expect_in "status shows auth PIN 3 of 3 tries left" "$T/status.log" '^    PIN: 3 of 3 tries left$'
expect_in "status shows sign password 5 of 5 tries left" "$T/status.log" '^    Password: 5 of 5 tries left$'
expect_in "status shows the auth certificate subject" "$T/status.log" '^    Certificate: .*CN='
expect_in "status shows days until the certificate expires" "$T/status.log" 'expires in [0-9]+ days'
expect_in "status shows when renewal opens (not yet)" "$T/status.log" 'Renewal: possible from [0-9]{4}-[0-9]{2}-[0-9]{2} \(in [0-9]+ days\)'
expect_in "status says the card's expiry cannot be known" "$T/status.log" '^  Card expiry: unknown'
not_in "status text does not show the holder's name" "$T/status.log" "$HOLDER_NAME"
not_in "status text does not show the holder's address" "$T/status.log" "$HOLDER_ADDR"

rc=0; companion "$T/status.json" "" status --json || rc=$?
expect_rc "status --json" 0 "$T/status.json" "$rc"
json_check "--json: one reader with a My Number Card" "$T/status.json" \
  'len(r["readers"]) == 1 and r["readers"][0]["card"]["kind"] == "my-number-card"'
json_check "--json: tries left 3 of 3 and 5 of 5, nothing locked" "$T/status.json" \
  '[(k["key"], k["pin"]["tries_left"], k["pin"]["max_tries"], k["pin"]["locked"]) for k in r["readers"][0]["card"]["keys"]] == [("auth",3,3,False),("sign",5,5,False)]'
json_check "--json: auth certificate valid, renewal not open yet, days counted" "$T/status.json" \
  '(lambda c: c["expired"] is False and c["renewal_open"] is False and c["days_left"] > c["days_to_renewal"] > 0)(r["readers"][0]["card"]["keys"][0]["certificate"])'
json_check "--json: sign certificate not shown, card expiry null with a note" "$T/status.json" \
  '(lambda c: "certificate" not in c["keys"][1] and c["keys"][1]["certificate_state"] == "protected" and c["card_expiry"] is None and c["card_expiry_note"].startswith("unknown"))(r["readers"][0]["card"])'
not_in "status --json does not show the holder's name" "$T/status.json" "$HOLDER_NAME"
expect_tries "status spent no PIN try" "3 5"

# --- the signature certificate -------------------------------------------------------
rc=0; companion "$T/show-nopin.log" "" status --show-sign-cert || rc=$?
expect_rc "--show-sign-cert without a terminal or --sign-pin-file is refused" 1 "$T/show-nopin.log" "$rc"
not_in "  ... and shows no personal data" "$T/show-nopin.log" "$HOLDER_NAME"
printf 'ABC123\n' >"$T/sign.pin"
rc=0; companion "$T/show.log" "" status --show-sign-cert --sign-pin-file "$T/sign.pin" || rc=$?
expect_rc "status --show-sign-cert --sign-pin-file" 0 "$T/show.log" "$rc"
expect_in "  ... shows the holder's name" "$T/show.log" "name: $HOLDER_NAME"
expect_in "  ... shows the sign certificate's validity" "$T/show.log" '^    Certificate: .*CN='
not_in "  ... never prints the password" "$T/show.log" "ABC123"
rc=0; companion "$T/show-wrong.log" "WRONG1
" status --show-sign-cert --sign-pin-file - || rc=$?
expect_rc "--show-sign-cert with a wrong password fails" 1 "$T/show-wrong.log" "$rc"
expect_in "  ... and says how many tries are left" "$T/show-wrong.log" 'wrong signature password.*: 4 of 5 tries left'
not_in "  ... without personal data" "$T/show-wrong.log" "$HOLDER_NAME"
rc=0; companion "$T/show-ok.log" "abc123
" status --show-sign-cert --sign-pin-file - || rc=$?
expect_rc "--show-sign-cert with the password in lower case (the module upper-cases it)" 0 "$T/show-ok.log" "$rc"
expect_tries "a right password restored the sign counter" "3 5"

# --- change-pin: malformed PINs, cancel, success -------------------------------------------
for bad in 12 12345 12a4 "1 34"; do
  rc=0; companion "$T/bad.log" "1234
$bad
$bad
" change-pin auth --pin-stdin --yes || rc=$?
  expect_rc "change-pin auth refuses the new PIN '$bad'" 1 "$T/bad.log" "$rc"
  expect_in "  ... before anything reaches the card" "$T/bad.log" 'nothing was sent to the card'
done
for bad in ABC12 ABC-123 ABCDEFGHIJ1234567 "ABC 123"; do
  rc=0; companion "$T/bad.log" "ABC123
$bad
$bad
" change-pin sign --pin-stdin --yes || rc=$?
  expect_rc "change-pin sign refuses the new password '$bad'" 1 "$T/bad.log" "$rc"
  expect_in "  ... before anything reaches the card" "$T/bad.log" 'nothing was sent to the card'
done
rc=0; companion "$T/bad.log" "12
5678
5678
" change-pin auth --pin-stdin --yes || rc=$?
expect_rc "change-pin auth refuses a malformed current PIN" 1 "$T/bad.log" "$rc"
rc=0; companion "$T/bad.log" "1234
5678
5679
" change-pin auth --pin-stdin --yes || rc=$?
expect_rc "change-pin auth refuses two different new PINs" 1 "$T/bad.log" "$rc"
rc=0; companion "$T/cancel.log" "1234
5678
5678
n
" change-pin auth --pin-stdin || rc=$?
expect_rc "change-pin auth answered 'n' at the confirmation" 1 "$T/cancel.log" "$rc"
expect_in "  ... says it was cancelled" "$T/cancel.log" 'cancelled'
expect_tries "malformed PINs and a cancel spent no try" "3 5"

rc=0; companion "$T/chg-auth.log" "1234
5678
5678
y
" change-pin auth --pin-stdin || rc=$?
expect_rc "change-pin auth 1234 -> new PIN (confirmed with y)" 0 "$T/chg-auth.log" "$rc"
not_in "  ... never prints the new PIN" "$T/chg-auth.log" "5678"
rc=0; companion "$T/chg-sign.json" "abc123
Newpass99
Newpass99
" change-pin sign --pin-stdin --yes --json || rc=$?
expect_rc "change-pin sign --json (current password typed in lower case)" 0 "$T/chg-sign.json" "$rc"
json_check "  ... JSON says changed, 5 of 5 tries" "$T/chg-sign.json" 'r["changed"] is True and r["tries_left"] == 5 and r["key"] == "sign"'
not_in "  ... never prints the new password" "$T/chg-sign.json" "ewpass99"
expect_tries "the changes left both counters full" "3 5"
login_ok "pkcs11-tool logs in to the auth token with the new PIN" "$AUTH_LABEL" 5678
login_ok "pkcs11-tool logs in to the sign token with the new password" "$SIGN_LABEL" NEWPASS99

# --- the last try ---------------------------------------------------------------------
for i in 1 2; do
  rc=0; p11_login "$T/wrong.log" "$AUTH_LABEL" 0000 || rc=$?
  if [ "$rc" -ne 0 ] && grep -q CKR_PIN_INCORRECT "$T/wrong.log"; then pass "pkcs11-tool login with a wrong auth PIN ($i) fails with CKR_PIN_INCORRECT"
  else fail "pkcs11-tool login with a wrong auth PIN ($i)" "$(tail -n 5 "$T/wrong.log")"; fi
done
expect_tries "two wrong PINs leave one auth try" "1 5"
rc=0; companion "$T/last.log" "" status || rc=$?
expect_in "status shows 1 of 3 tries left" "$T/last.log" '^    PIN: 1 of 3 tries left$'
expect_in "status warns that one try is left" "$T/last.log" 'Only ONE try is left'
rc=0; companion "$T/last.log" "5678
1357
1357
" change-pin auth --pin-stdin --yes || rc=$?
expect_rc "change-pin auth refuses with one try left" 1 "$T/last.log" "$rc"
expect_in "  ... and says --force-last-try" "$T/last.log" 'force-last-try'
expect_tries "  ... the counter stays at 1" "1 5"
rc=0; companion "$T/last.json" "" change-pin auth --pin-stdin --yes --json || rc=$?
json_check "  ... --json: not changed, card not touched, 1 try" "$T/last.json" \
  'r["changed"] is False and r["card_touched"] is False and r["tries_left"] == 1'
rc=0; companion "$T/force.log" "5678
1357
1357
" change-pin auth --pin-stdin --yes --force-last-try || rc=$?
expect_rc "change-pin auth --force-last-try with the right PIN" 0 "$T/force.log" "$rc"
expect_tries "  ... the counter is full again" "3 5"
login_ok "pkcs11-tool logs in with the PIN set by --force-last-try" "$AUTH_LABEL" 1357

# --- a wrong current PIN, then a locked PIN ---------------------------------------------
rc=0; companion "$T/wrongcur.log" "9999
2468
2468
" change-pin auth --pin-stdin --yes || rc=$?
expect_rc "change-pin auth with a wrong current PIN" 1 "$T/wrongcur.log" "$rc"
expect_in "  ... says how many tries are left" "$T/wrongcur.log" 'wrong authentication PIN.*: 2 of 3 tries left'
for i in 1 2; do p11_login "$T/wrong.log" "$AUTH_LABEL" 0000; done
expect_tries "the auth PIN is now locked" "0 5"
rc=0; companion "$T/locked.log" "" status || rc=$?
expect_in "status shows the auth PIN LOCKED" "$T/locked.log" '^    PIN: LOCKED \(0 of 3 tries left\)$'
expect_in "  ... says only the municipal office (市区町村の窓口) can unlock it" "$T/locked.log" 'Only your municipal office can unlock it: .*市区町村の窓口'
rc=0; companion "$T/locked-chg.log" "1357
2468
2468
" change-pin auth --pin-stdin --yes --force-last-try || rc=$?
expect_rc "change-pin refuses a locked PIN even with --force-last-try" 1 "$T/locked-chg.log" "$rc"
expect_in "  ... with the municipal-office advice" "$T/locked-chg.log" '市区町村の窓口'
expect_tries "  ... and the counters are unchanged" "0 5"

# --- expired, face-authentication, no signature certificate ------------------------------
new_card expired --expired
rc=0; companion "$T/expired.log" "" status || rc=$?
expect_rc "status on an --expired card" 0 "$T/expired.log" "$rc"
expect_in "  ... shows the certificate EXPIRED n days ago" "$T/expired.log" 'EXPIRED [0-9]+ days ago'
expect_in "  ... says renewal is too late" "$T/expired.log" 'Renewal: too late'
expect_in "  ... says where to get a new one" "$T/expired.log" 'A new one is issued at the 市区町村の窓口'
rc=0; companion "$T/expired.json" "" status --json || rc=$?
json_check "  ... --json: expired, days_left negative" "$T/expired.json" \
  '(lambda c: c["expired"] is True and c["days_left"] < 0)(r["readers"][0]["card"]["keys"][0]["certificate"])'

new_card face --face-auth
rc=0; companion "$T/face.log" "" status || rc=$?
expect_rc "status on a face-authentication card" 0 "$T/face.log" "$rc"
expect_in "  ... calls it a face-authentication card" "$T/face.log" 'face-authentication card'
rc=0; companion "$T/face-chg.log" "1234
" change-pin auth --pin-stdin || rc=$?
expect_rc "change-pin refuses on a face-authentication card" 1 "$T/face-chg.log" "$rc"

new_card nosign --no-sign-cert --no-sign-cert-ef absent
rc=0; companion "$T/nosign.json" "" status --json || rc=$?
json_check "status --json on a card without a signature certificate: no_sign_cert" "$T/nosign.json" \
  'r["readers"][0]["card"]["no_sign_cert"] is True and r["readers"][0]["card"]["keys"][1]["certificate_state"] == "absent"'
rc=0; companion "$T/nosign-chg.log" "ABC123
" change-pin sign --pin-stdin || rc=$?
expect_rc "change-pin sign refuses on a card without a signature certificate" 1 "$T/nosign-chg.log" "$rc"
new_card nosign2 --no-sign-cert
rc=0; companion "$T/nosign2.log" "" status --show-sign-cert --sign-pin-file "$T/sign.pin" || rc=$?
expect_in "with --show-sign-cert and the password, a card whose EF 0001 holds only filler is called out" "$T/nosign2.log" 'Type: card without a signature certificate'

# --- no service ---------------------------------------------------------------------------
# libpcsclite is pointed at a socket nobody serves (PCSCLITE_CSOCK_NAME), so
# this runs the same whether or not a pcscd runs on the machine.
rc=0; MYNA_PKCS11_SIM='' PCSCLITE_CSOCK_NAME="$T/no-pcscd.comm" companion "$T/nopcscd.log" "" status || rc=$?
expect_rc "status without pcscd" 1 "$T/nopcscd.log" "$rc"
expect_in "  ... says pcscd is not running and how to start it" "$T/nopcscd.log" 'pcscd is not running'
expect_in "  ... (the how)" "$T/nopcscd.log" 'systemctl start pcscd.socket|apt install pcscd'
finish
