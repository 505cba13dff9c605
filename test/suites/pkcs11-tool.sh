#!/usr/bin/env bash
# pkcs11-tool (OpenSC) against the module and a simulated card, twice: with
# the card in-process (MYNA_PKCS11_SIM) and as a real PC/SC card through
# pcscd + vsmartcard's vpcd. Each run: -L, -O, --login --sign with both keys
# (verified with openssl), --change-pin for both PINs (and back), and
# --test --login on both tokens. The PC/SC run also lets ssh-keygen -D and
# p11tool read the card through pcscd. No PIN try may be spent. All of it
# again as each smartphone credential (on_phones).
. "$(dirname "$0")/../lib.sh"
need_module
on_phones
card_init
printf 'pkcs11-tool suite\n' >"$T/data.txt"
NEW_AUTH=8642 NEW_SIGN=NEWPASS9

P11=(pkcs11-tool --module "$MOD")
ere() { printf '%s' "$1" | sed 's/[][().*+?^$|{}\\]/\\&/g'; } # quote TEXT for grep -E

# the_checks MODE: every pkcs11-tool check, against whatever the module sees.
the_checks() {
  local m=$1
  check "$m: pkcs11-tool -L lists both tokens" "${P11[@]}" -L
  expect_in "$m: the auth token is listed" "$CHECK_LOG" "token label +: $(ere "$AUTH_TOKEN_LABEL")\$"
  expect_in "$m: the sign token is listed" "$CHECK_LOG" "token label +: $(ere "$SIGN_TOKEN_LABEL")\$"

  check "$m: -O on the auth token" "${P11[@]}" --token-label "$AUTH_TOKEN_LABEL" -O
  if [ -z "$PHONE" ]; then expect_in "$m: the auth certificate is public" "$CHECK_LOG" 'Certificate Object'
  elif grep -Eq 'ID: +01$' "$CHECK_LOG"; then fail "$m: the $DEVICE shows no auth certificate or key before login" "$(cat "$CHECK_LOG")"
  else pass "$m: the $DEVICE shows no auth certificate or key before login"; fi
  check "$m: -O on the sign token before login" "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" -O
  local n_obj
  n_obj=$(grep -c 'Object' "$CHECK_LOG")
  if [ "$n_obj" -eq 1 ] && grep -Eq 'ID: +04$' "$CHECK_LOG"; then pass "$m: the sign token shows only its CA certificate (ID 04) before login"
  else fail "$m: the sign token shows only its CA certificate (ID 04) before login" "$(cat "$CHECK_LOG")"; fi
  check "$m: --read-object --type cert --id 04 on the sign token without login" \
    "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" --read-object --type cert --id 04 -o "$T/sign-ca.der"
  if [ -n "$SIGN_CA" ] && [ "$(openssl x509 -inform DER -in "$T/sign-ca.der" -outform PEM 2>&1)" = "$(openssl x509 -in "$SIGN_CA" -outform PEM)" ]; then
    pass "$m: it is the card's sign CA certificate"
  else fail "$m: it is the card's sign CA certificate" "exported CA: ${SIGN_CA:-none}"; fi
  if run_to "$T/sign-cert-early.log" "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" --read-object --type cert --id 02 -o "$T/early.der"; then
    fail "$m: the sign certificate (ID 02) is not readable without login" "$(cat "$T/sign-cert-early.log")"
  else pass "$m: the sign certificate (ID 02) is not readable without login"; fi

  local tok pin id name
  for name in auth sign; do
    if [ $name = auth ]; then tok=$AUTH_TOKEN_LABEL pin=$AUTH_PIN id=01; else tok=$SIGN_TOKEN_LABEL pin=$SIGN_PIN id=02; fi
    check "$m: --login --sign -m SHA256-RSA-PKCS with the $name key" \
      "${P11[@]}" --token-label "$tok" --login --pin "$pin" --sign --id $id -m SHA256-RSA-PKCS -i "$T/data.txt" -o "$T/$name.sig"
    check "$m: read the $name certificate after login" \
      "${P11[@]}" --token-label "$tok" --login --pin "$pin" --read-object --type cert --id $id -o "$T/$name.der"
    openssl x509 -inform DER -in "$T/$name.der" -noout -pubkey >"$T/$name.pub" 2>/dev/null
    check "$m: openssl verifies the $name signature" \
      openssl dgst -sha256 -verify "$T/$name.pub" -signature "$T/$name.sig" "$T/data.txt"
  done

  check "$m: --change-pin of the auth PIN" "${P11[@]}" --token-label "$AUTH_TOKEN_LABEL" --login --pin "$AUTH_PIN" --change-pin --new-pin "$NEW_AUTH"
  check "$m: the new auth PIN logs in" "${P11[@]}" --token-label "$AUTH_TOKEN_LABEL" --login --pin "$NEW_AUTH" --sign --id 01 -m SHA256-RSA-PKCS -i "$T/data.txt" -o "$T/x.sig"
  check "$m: --change-pin back" "${P11[@]}" --token-label "$AUTH_TOKEN_LABEL" --login --pin "$NEW_AUTH" --change-pin --new-pin "$AUTH_PIN"
  check "$m: --change-pin of the sign password" "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" --login --pin "$SIGN_PIN" --change-pin --new-pin "$NEW_SIGN"
  check "$m: the new sign password logs in" "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" --login --pin "$NEW_SIGN" --sign --id 02 -m SHA256-RSA-PKCS -i "$T/data.txt" -o "$T/x.sig"
  check "$m: --change-pin back" "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" --login --pin "$NEW_SIGN" --change-pin --new-pin "$SIGN_PIN"

  check "$m: --test --login on the auth token" "${P11[@]}" --token-label "$AUTH_TOKEN_LABEL" --test --login --pin "$AUTH_PIN"
  expect_in "$m: --test on the auth token reports no errors" "$CHECK_LOG" 'No errors'
  check "$m: --test --login on the sign token" "${P11[@]}" --token-label "$SIGN_TOKEN_LABEL" --test --login --pin "$SIGN_PIN"
  expect_in "$m: --test on the sign token reports no errors" "$CHECK_LOG" 'No errors'
  check_tries "$m"
}

the_checks in-process

# The same through PC/SC: the simulator becomes a card in vpcd's reader.
unset MYNA_PKCS11_SIM
if ! start_pcscd; then
  fail "pcsc: start pcscd (only one pcscd may run on the machine)"; finish
fi
if ! start_sim "$STATE" 35963; then
  fail "pcsc: serve the simulated card to vpcd"; finish
fi
the_checks pcsc
check "pcsc: ssh-keygen -D reads the public keys through pcscd" ssh-keygen -D "$MOD"
expect_in "pcsc: ssh-keygen -D prints an RSA key${PHONE:+ (of the auth CA: the $DEVICE keeps its auth key behind the PIN)}" "$CHECK_LOG" '^ssh-rsa '
check "pcsc: p11tool lists the tokens through pcscd" p11tool --provider "$MOD" --list-token-urls
expect_in "pcsc: p11tool shows the auth token URI" "$CHECK_LOG" 'token=My%20Number%20Card%20%28Auth%29'
finish
