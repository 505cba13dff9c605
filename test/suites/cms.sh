#!/usr/bin/env bash
# CMS / S/MIME signatures with the card's signature key, three signers:
#   - openssl cms -sign through the libp11 engine (README.md's cms recipe,
#     extracted and run verbatim: an S/MIME e-mail, detached);
#   - openssl cms -sign through pkcs11-provider (OpenSSL 3's provider);
#   - GnuTLS certtool --p7-sign / --p7-detached-sign;
# each detached and attached (DER/PEM .p7s). Every signature must pass
# `openssl cms -verify` against the sign CA, and be refused with the auth CA
# as the only trust anchor and with one byte of the content changed.
. "$(dirname "$0")/../lib.sh"

need_module
need_provider
card_init
mkdir -p "$T/work"
engine_conf "$T/work/engine.cnf" "$MOD"
provider_conf "$T/provider.cnf" "$MOD"
W="$T/work"
cp "$SIGN_CA" "$W/sign-ca.pem"
printf '%s\n' "$SIGN_PIN" >"$W/sign-pin.txt"; chmod 600 "$W/sign-pin.txt"
printf 'To: someone@example.invalid\r\nSubject: myna-pkcs11 cms suite\r\n\r\nSigned with the card, %s.\r\n' \
  "$(date -u +%FT%TZ)" >"$W/mail.txt"
printf 'myna-pkcs11 cms suite data %s\n' "$(date -u +%FT%TZ)" >"$W/data.txt"
printf 'myna-pkcs11 cms suite dat4 %s\n' "$(date -u +%FT%TZ)" >"$W/tampered.txt"   # one byte changed
if [ "$(cmp -l "$W/data.txt" "$W/tampered.txt" | wc -l)" != 1 ]; then
  fail "tampered.txt differs from data.txt in one byte" "$(cmp -l "$W/data.txt" "$W/tampered.txt")"
fi

# --- README's recipe (engine, S/MIME) ------------------------------------------------
readme_recipe cms "$T/recipe.sh" 'openssl cms -sign'
rc=0
(cd "$W" && MOD=$MOD SIGN=$SIGN_TOKEN_URI timeout -k 5 "$TMO" bash -e "$T/recipe.sh") >"$T/recipe.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && [ -s "$W/mail.eml" ]; then
  pass "README's cms recipe signs an e-mail with the sign key (libp11 engine) and verifies it"
else
  fail "README's cms recipe signs an e-mail and verifies it" "exit $rc: $(tail -n 10 "$T/recipe.log")"; finish
fi
expect_in "mail.eml is a detached S/MIME message (multipart/signed)" "$W/mail.eml" 'multipart/signed'
SIGN_CERT="$W/sign.pem"
# The sign certificate is personal data: it stays in $T and is never printed.
if openssl x509 -in "$SIGN_CERT" -noout -checkend 0 >/dev/null 2>&1; then
  pass "the recipe exported the sign certificate with p11tool --login"
else
  fail "the recipe exported the sign certificate" "$(wc -c <"$SIGN_CERT") bytes"
fi

# verify_ok WHAT SIG FORM [CONTENT]: openssl cms -verify SIG (FORM: SMIME, PEM
# or DER) against the sign CA; for a detached signature CONTENT is the data.
# The recovered content must equal the signed data.
verify_ok() {
  local what=$1 sig=$2 form=$3 content=${4:-} args=()
  [ -z "$content" ] || args=(-content "$content" -binary)
  if run_to "$T/v.log" openssl cms -verify -in "$sig" -inform "$form" "${args[@]}" \
      -CAfile "$W/sign-ca.pem" -out "$T/v.out" && grep -q 'Verification successful' "$T/v.log"; then
    pass "$what"
  else
    fail "$what" "$(tail -n 6 "$T/v.log")"
  fi
}

# verify_refused WHAT WHY SIG FORM CA [CONTENT]: the same verification must
# fail with WHY (a regular expression) in openssl's output.
verify_refused() {
  local what=$1 why=$2 sig=$3 form=$4 ca=$5 content=${6:-} args=() rc=0
  [ -z "$content" ] || args=(-content "$content" -binary)
  run_to "$T/r.log" openssl cms -verify -in "$sig" -inform "$form" "${args[@]}" -CAfile "$ca" -out /dev/null || rc=$?
  if [ "$rc" -ne 0 ] && grep -Eq "$why" "$T/r.log"; then
    pass "$what"
  else
    fail "$what" "exit $rc, expected /$why/:"$'\n'"$(tail -n 6 "$T/r.log")"
  fi
}
WRONG_CA='unable to get local issuer certificate|certificate verify error'
BAD_SIG='bad signature|content verify error|verification failure'

verify_refused "the S/MIME e-mail is refused with the auth CA as the trust anchor" "$WRONG_CA" "$W/mail.eml" SMIME "$AUTH_CA"
sed 's/Signed with the card/Signed with the cart/' "$W/mail.eml" >"$W/mail-tampered.eml"
verify_refused "the S/MIME e-mail with one changed byte in its body is refused" "$BAD_SIG" "$W/mail-tampered.eml" SMIME "$W/sign-ca.pem"

# sign_set SIGNER FORM: the detached and attached signatures of data.txt made
# by SIGNER (files $W/SIGNER-detached.p7s / -attached.p7s in FORM, DER or PEM)
# are verified, and refused with the auth CA and with tampered content.
sign_set() {
  local s=$1 FORM=$2
  verify_ok "$s, detached: openssl cms -verify with the sign CA" "$W/$s-detached.p7s" "$FORM" "$W/data.txt"
  verify_ok "$s, attached: openssl cms -verify with the sign CA" "$W/$s-attached.p7s" "$FORM"
  if cmp -s "$T/v.out" "$W/data.txt"; then pass "$s, attached: the embedded content is data.txt"
  else fail "$s, attached: the embedded content is data.txt" "$(od -c "$T/v.out" | sed -n 1,4p)"; fi
  verify_refused "$s, detached: refused with the auth CA as the trust anchor" "$WRONG_CA" "$W/$s-detached.p7s" "$FORM" "$AUTH_CA" "$W/data.txt"
  verify_refused "$s, detached: refused for content with one changed byte" "$BAD_SIG" "$W/$s-detached.p7s" "$FORM" "$W/sign-ca.pem" "$W/tampered.txt"
}

# --- openssl cms through the libp11 engine ---------------------------------------------
ENGINE=(env OPENSSL_CONF="$W/engine.cnf" openssl cms -sign -engine pkcs11 -keyform engine
  -inkey "$SIGN_KEY_URI" -passin "file:$W/sign-pin.txt" -signer "$SIGN_CERT" -in "$W/data.txt" -binary -outform DER)
check "openssl cms -sign (libp11 engine), detached DER" "${ENGINE[@]}" -out "$W/engine-detached.p7s"
check "openssl cms -sign (libp11 engine), attached DER (-nodetach)" "${ENGINE[@]}" -nodetach -out "$W/engine-attached.p7s"
sign_set engine DER

# --- openssl cms through pkcs11-provider ------------------------------------------------
PROVIDER=(env OPENSSL_CONF="$T/provider.cnf" openssl cms -sign
  -inkey "$SIGN_KEY_URI" -passin "file:$W/sign-pin.txt" -signer "$SIGN_CERT" -in "$W/data.txt" -binary -outform DER)
check "openssl cms -sign (pkcs11-provider, pkcs11: URI), detached DER" "${PROVIDER[@]}" -out "$W/provider-detached.p7s"
check "openssl cms -sign (pkcs11-provider), attached DER (-nodetach)" "${PROVIDER[@]}" -nodetach -out "$W/provider-attached.p7s"
sign_set provider DER

# --- GnuTLS certtool ---------------------------------------------------------------------
CERTTOOL=(env GNUTLS_PIN="$SIGN_PIN" certtool --provider "$MOD" --load-privkey "$SIGN_KEY_URI"
  --load-certificate "$SIGN_CERT" --infile "$W/data.txt")
check "certtool --p7-detached-sign (GnuTLS), PEM" "${CERTTOOL[@]}" --p7-detached-sign --outfile "$W/certtool-detached.p7s"
check "certtool --p7-sign (GnuTLS, content embedded), PEM" "${CERTTOOL[@]}" --p7-sign --outfile "$W/certtool-attached.p7s"
sign_set certtool PEM

# The three detached signatures are PKCS#1 v1.5 with SHA-256 by the same key.
run_to "$T/print.log" openssl cms -cmsout -print -in "$W/provider-detached.p7s" -inform DER
expect_in "the provider's signature is sha256WithRSAEncryption or rsaEncryption (PKCS#1 v1.5, not PSS)" "$T/print.log" \
  'algorithm: (sha256WithRSAEncryption|rsaEncryption)'

check_tries
finish
