#!/usr/bin/env bash
# Python (python3-pykcs11) through pcscd + vpcd: README.md's PyKCS11 program
# (myna_sign.py) and the commands that run it, both extracted and run
# verbatim. The right PINs sign a file with both keys; openssl verifies each
# signature with the certificate the program read, and each certificate is the
# card's and chains to its CA. Then the answers a developer must handle, with
# the card's PIN tries (myna-sim --status) and VERIFY count (--stats-file)
# read before and after each: a wrong PIN (one try, CKR_PIN_INCORRECT),
# malformed PINs (CKR_PIN_INCORRECT, nothing sent), a PIN locked by three
# wrong tries (CKR_PIN_LOCKED; the right PIN afterwards sends nothing), and
# the card taken out.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/cardwatch.sh"
export PATH="/usr/bin:$PATH"   # Debian's python3, the one python3-pykcs11 is for

need_module
/usr/bin/python3 -c 'import PyKCS11' 2>/dev/null || { fail "python3-pykcs11 is installed" "run test/install-deps.sh"; finish; }
card_init
run_to "$T/export.log" "$SIM" --export-certs "$T/card-certs" --include-sign-cert --state "$STATE" ||
  { fail "export the card's certificates" "$(cat "$T/export.log")"; finish; }

W="$T/work"; mkdir -p "$W"
readme_recipe pykcs11 "$W/myna_sign.py" 'session.login(pin)'
readme_recipe pykcs11-run "$T/run.sh" 'python3 myna_sign.py'
printf 'contract %s\n' "$(date -u +%FT%TZ)" >"$W/contract.pdf"

pcsc_card

# pins NAME LINES: runs the program in $W with LINES (the PIN answers) on its
# standard input; output in $T/NAME.log, exit status in RC.
pins() {
  printf '%s' "$2" >"$T/$1.in"
  RC=0
  (cd "$W" && RUN_STDIN="$T/$1.in" run_to "$T/$1.log" python3 myna_sign.py "$MOD" contract.pdf) || RC=$?
}

# answer WHAT NAME LINES REGEX TRIES [N]: runs the program (pins); its output
# must match REGEX, and the card have TRIES afterwards and (when given) have
# received N VERIFY commands (tries_are).
answer() {
  watch
  pins "$2" "$3"
  if grep -Eq -- "$4" "$T/$2.log"; then tries_are "$1" "$5" "${6:-}"
  else fail "$1" "want /$4/, exit $RC:"$'\n'"$(cat "$T/$2.log")"; fi
}

# --- the recipe, right PINs ---------------------------------------------------------------
tries_are "before: every try left" "3 5"
printf '%s\n%s\n' "$AUTH_PIN" "$SIGN_PIN" >"$T/right.in"
rc=0
(cd "$W" && MOD=$MOD RUN_STDIN="$T/right.in" MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_LOG="$T/module.log" \
  run_to "$T/recipe.log" bash -e "$T/run.sh") || rc=$?
if [ "$rc" = 0 ] && grep -q 'Verified OK' "$T/recipe.log"; then
  pass "README's run recipe: myna_sign.py signs with both keys and openssl verifies 02.sig"
else
  fail "README's run recipe signs and verifies" "exit $rc:"$'\n'"$(cat "$T/recipe.log")"; finish
fi
expect_in "python3 sees both tokens (module log: the executable's name, python3.N)" "$T/module.log" \
  'configuration: tokens auth,sign \(default for python3\.[0-9]+ \(not a browser'
expect_in "the program lists the auth token, every try left" "$T/recipe.log" '^slot [0-9]+: My Number Card \(Auth\) \(every try left\)$'
expect_in "the program lists the sign token, every try left" "$T/recipe.log" '^slot [0-9]+: My Number Card \(Sign\) \(every try left\)$'
for k in 01 02; do
  if [ "$k" = 01 ]; then want=$AUTH_CERT ca=$AUTH_CA; else want="$T/card-certs/sign-cert.pem" ca=$SIGN_CA; fi
  openssl x509 -inform DER -in "$W/$k.der" -out "$T/$k.pem" 2>/dev/null
  openssl x509 -in "$T/$k.pem" -noout -pubkey >"$T/$k.pub" 2>/dev/null
  check "key $k: openssl verifies $k.sig over contract.pdf with $k.der" \
    openssl dgst -sha256 -verify "$T/$k.pub" -signature "$W/$k.sig" "$W/contract.pdf"
  if cmp -s <(openssl x509 -in "$T/$k.pem" -outform DER) <(openssl x509 -in "$want" -outform DER); then
    pass "key $k: $k.der is the card's certificate"
  else
    fail "key $k: $k.der is the card's certificate"
  fi
  check "key $k: $k.der chains to the card's CA (openssl verify)" openssl verify -CAfile "$ca" "$T/$k.pem"
done
printf 'x' >>"$W/contract.pdf"
if run_to "$T/tampered.log" openssl dgst -sha256 -verify "$T/02.pub" -signature "$W/02.sig" "$W/contract.pdf"; then
  fail "02.sig is refused for a changed contract.pdf" "$(cat "$T/tampered.log")"
else
  pass "02.sig is refused for a changed contract.pdf ($(head -n 1 "$T/tampered.log"))"
fi
check_tries

# --- the PIN errors ---------------------------------------------------------------------------
answer "wrong auth PIN: CKR_PIN_INCORRECT, one auth try spent, the flags say count_low" wrong \
  $'1235\n\n' '^My Number Card \(Auth\): wrong PIN \(count_low\)$' "2 5" 1
answer "the right PIN afterwards signs and gives the try back" right2 \
  "$AUTH_PIN"$'\n\n' '^My Number Card \(Auth\): signed contract.pdf with key 01' "3 5"
answer "5-digit auth PIN and 5-character password: CKR_PIN_INCORRECT, nothing sent to the card, every try left" malformed \
  $'12345\nABC12\n' '^My Number Card \(Sign\): wrong PIN \(every try left\)$' "3 5" 0
expect_in "... the auth PIN's too" "$T/malformed.log" '^My Number Card \(Auth\): wrong PIN \(every try left\)$'
answer "a wrong password: one sign try spent" wrong-sign \
  $'\nWRONG99\n' '^My Number Card \(Sign\): wrong PIN \(count_low\)$' "3 4" 1
answer "the right password afterwards signs and gives the try back" right-sign \
  $'\n'"$SIGN_PIN"$'\n' '^My Number Card \(Sign\): signed contract.pdf with key 02' "3 5"

answer "second wrong auth PIN in a row: final_try" lock1 $'1235\n\n' 'wrong PIN \(count_low\)' "2 5" 1
answer "... then the flags say final_try" lock2 $'1235\n\n' 'wrong PIN \(count_low, final_try\)' "1 5" 1
answer "third wrong auth PIN: the card locks it (CKR_PIN_LOCKED)" lock3 $'1235\n\n' \
  '^My Number Card \(Auth\): the PIN is locked; only your municipal office can unlock it$' "0 5" 1
answer "the locked PIN, now the right one: CKR_PIN_LOCKED and nothing sent to the card" locked \
  "$AUTH_PIN"$'\n\n' '^My Number Card \(Auth\): the PIN is locked' "0 5" 0
expect_in "the program lists the locked token as locked" "$T/locked.log" '^slot [0-9]+: My Number Card \(Auth\) \(locked\)$'
check "myna-sim --admin-reset (the municipal office) unlocks it" "$SIM" --admin-reset --state "$STATE"
answer "after the reset the right PIN signs again" unlocked "$AUTH_PIN"$'\n\n' \
  '^My Number Card \(Auth\): signed contract.pdf with key 01' "3 5"

# --- the card taken out -----------------------------------------------------------------------
card_out
answer "card taken out: 'no card in any reader', exit 1, nothing sent" absent \
  "$AUTH_PIN"$'\n'"$SIGN_PIN"$'\n' '^no card in any reader$' "3 5" 0
if [ "$RC" = 1 ]; then pass "... and the program exits 1"; else fail "... and the program exits 1" "exit $RC"; fi
card_in
answer "card back: both keys sign again" back "$AUTH_PIN"$'\n'"$SIGN_PIN"$'\n' \
  '^My Number Card \(Sign\): signed contract.pdf with key 02' "3 5"
check_tries
finish
