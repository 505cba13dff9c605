#!/usr/bin/env bash
# pdfsig (poppler-utils) signs a PDF with the card's signature key, with the
# module added by `myna-pkcs11 register` and no other setting (the module
# shows pdfsig only the sign token, so its one password goes to the right
# token). The signing command is README.md's pdfsig recipe, extracted and run
# verbatim (the password on its standard input), in two homes: one without
# Firefox, and one with a profile in ~/.mozilla/firefox, whose database
# pdfsig reads by default (the recipe's -nssdir makes it read ~/.pki/nssdb in
# both). Then `pdfsig signed.pdf` must report a valid signature whose
# certificate is trusted once the sign CA is (in ~/.pki/nssdb, as README
# says), and a one-byte change inside the signed range a digest mismatch.
# pdfsig's messages that README explains are checked too: a wrong password
# and a malformed one, and the NSS_Shutdown complaint after a good signature.
# Again as each smartphone credential, in-process and through pcscd (on_phones).
. "$(dirname "$0")/../lib.sh"

COMPANION=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
command -v pdfsig >/dev/null || { fail "pdfsig is installed" "run test/install-deps.sh (poppler-utils)"; finish; }
[ -x "$COMPANION" ] || { fail "the companion command is built" "make build/out/myna-pkcs11"; finish; }
need_module
POPPLER_MAJOR=$(pdfsig -v 2>&1 | sed -n 's/^pdfsig version \([0-9]*\)\..*/\1/p')
POPPLER_MAJOR=${POPPLER_MAJOR:-0}
on_phones in-process pcsc
card_init

# The recipe: the fenced blocks after the marker lines in README.md (their
# $HOME is the recipe's, not expanded here).
# shellcheck disable=SC2016
readme_recipe pdfsig "$T/recipe.sh" 'pdfsig -nssdir "sql:$HOME/.pki/nssdb" -add-signature'
# shellcheck disable=SC2016
readme_recipe pdfsig-verify "$T/verify.sh" 'pdfsig -nssdir "sql:$HOME/.pki/nssdb" signed.pdf'

# A one-page PDF with a known word in its content stream.
mkpdf() {
  local out=$1 s="BT /F1 12 Tf 20 100 Td (myna-pkcs11 test page) Tj ET" body off=() o i
  body="%PDF-1.4"$'\n'
  local objs=("<< /Type /Catalog /Pages 2 0 R >>" "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"
    "<< /Length ${#s} >>"$'\n'"stream"$'\n'"$s"$'\n'"endstream")
  for i in "${!objs[@]}"; do
    off+=("${#body}")
    body+="$((i + 1)) 0 obj"$'\n'"${objs[$i]}"$'\n'"endobj"$'\n'
  done
  local x=${#body}
  body+="xref"$'\n'"0 5"$'\n'"0000000000 65535 f "$'\n'
  for o in "${off[@]}"; do body+=$(printf '%010d 00000 n ' "$o")$'\n'; done
  body+="trailer"$'\n'"<< /Size 5 /Root 1 0 R >>"$'\n'"startxref"$'\n'"$x"$'\n'"%%EOF"$'\n'
  printf '%s' "$body" >"$out"
}
mkdir -p "$T/work"
mkpdf "$T/work/in.pdf"
check "the test PDF is readable (pdfinfo)" pdfinfo "$T/work/in.pdf" || finish
printf '%s\n' "$SIGN_PIN" >"$T/sign.pin"; chmod 600 "$T/sign.pin"

# sign_in HOME: register on HOME, run README's recipe there, and check the
# signature before and after the sign CA is trusted in ~/.pki/nssdb.
sign_in() {
  local name=$1 rc=0
  export HOME="$T/$name"
  NSSDB="$HOME/.pki/nssdb"
  check "[$name] myna-pkcs11 register" "$COMPANION" register --module "$MOD" || return 1
  rm -f "$T/work/signed.pdf"
  (cd "$T/work" && MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_LOG="$T/$name-module.log" timeout -k 5 "$TMO" bash -e "$T/recipe.sh") \
    <"$T/sign.pin" >"$T/$name-recipe.log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ] && [ -s "$T/work/signed.pdf" ]; then
    pass "[$name] README's pdfsig recipe signs the PDF with the card (signed.pdf written)"
  else
    fail "[$name] README's pdfsig recipe signs the PDF with the card" "exit $rc: $(tail -n 8 "$T/$name-recipe.log")"$'\n'"module: $(tail -n 5 "$T/$name-module.log")"
    return 1
  fi
  # poppler 22.12 (Debian 12) complains at exit after a good signature
  # (README: harmless); poppler 25 (Debian 13) does not.
  if [ "$POPPLER_MAJOR" -lt 23 ]; then
    expect_in "[$name] after a good signature pdfsig $POPPLER_MAJOR says NSS_Shutdown failed (README: harmless)" "$T/$name-recipe.log" '^NSS_Shutdown failed'
  elif grep -q '^NSS_Shutdown failed' "$T/$name-recipe.log"; then
    fail "[$name] pdfsig $POPPLER_MAJOR prints no NSS_Shutdown complaint" "$(tail -n 5 "$T/$name-recipe.log")"
  else
    pass "[$name] pdfsig $POPPLER_MAJOR prints no NSS_Shutdown complaint after a good signature"
  fi
  expect_in "[$name] the module showed pdfsig only the sign token (logged at level 1)" "$T/$name-module.log" \
    'configuration: tokens sign \(default for pdfsig \(a document signer\)\)'
  if grep -q 'C_Login.*CKR_' "$T/$name-module.log"; then
    fail "[$name] the one password went to the sign token and was accepted" "$(grep C_Login "$T/$name-module.log")"
  else
    pass "[$name] the one password went to the sign token and was accepted (no refused C_Login)"
  fi
  # Verification (README's command): valid; trusted once the sign CA is trusted for signing.
  (cd "$T/work" && bash -e "$T/verify.sh") >"$T/$name-verify-untrusted.log" 2>&1
  expect_in "[$name] pdfsig signed.pdf: the signature is valid" "$T/$name-verify-untrusted.log" 'Signature Validation: Signature is Valid\.'
  check "[$name] trust the card's sign CA in ~/.pki/nssdb (certutil -t ,C,)" \
    certutil -A -d "sql:$NSSDB" -n "JPKI sign CA" -t ",C," -a -i "$SIGN_CA"
  (cd "$T/work" && bash -e "$T/verify.sh") >"$T/$name-verify.log" 2>&1
  expect_in "[$name] pdfsig signed.pdf: still valid" "$T/$name-verify.log" 'Signature Validation: Signature is Valid\.'
  expect_in "[$name] pdfsig signed.pdf: the certificate is trusted with the sign CA" "$T/$name-verify.log" 'Certificate Validation: Certificate is Trusted\.'
  if [ -d "$HOME/.mozilla/firefox" ]; then
    # Without -nssdir pdfsig reads the Firefox profile: the trust above does not count there.
    run_to "$T/$name-verify-default.log" pdfsig "$T/work/signed.pdf"
    if grep -q 'Certificate is Trusted' "$T/$name-verify-default.log"; then
      fail "[$name] without -nssdir pdfsig reads the Firefox profile, not ~/.pki/nssdb (README)" "$(grep Validation "$T/$name-verify-default.log")"
    else
      pass "[$name] without -nssdir pdfsig reads the Firefox profile, not ~/.pki/nssdb (README): the sign CA is not trusted there"
    fi
  fi
}

# A home without Firefox, and one where Firefox keeps a profile in
# ~/.mozilla/firefox (register adds the module there too).
mkdir -p "$T/nofirefox" "$T/mozilla/.mozilla/firefox/x1.default-esr"
printf '[Profile0]\nName=default-esr\nIsRelative=1\nPath=x1.default-esr\nDefault=1\n' >"$T/mozilla/.mozilla/firefox/profiles.ini"
check "a Firefox profile in ~/.mozilla/firefox (certutil -N)" certutil -N --empty-password -d "sql:$T/mozilla/.mozilla/firefox/x1.default-esr"
sign_in mozilla || finish
expect_in "[mozilla] register added the module to the Firefox profile too" "$T/mozilla/.mozilla/firefox/x1.default-esr/pkcs11.txt" "^library=$MOD\$"
sign_in nofirefox || finish

# pdfsig's messages for a bad password (README), exit status 2 and nothing
# written: a wrong one (sent to the card: one try spent), a malformed one (not
# sent), none at all.
# bad_password PW WANT SPENT: pdfsig with -nss-pwd PW says WANT; SPENT sign tries go.
bad_password() {
  local pw=$1 want=$2 spent=$3 rc=0 before after what
  before=$(tries_left "$STATE"); before=${before#* }
  (cd "$T/work" && pdfsig -nssdir "sql:$NSSDB" -add-signature -nick 'My Number Card (Sign):Digital Signature Certificate' \
    -nss-pwd "$pw" in.pdf bad.pdf) >"$T/bad.log" 2>&1 || rc=$?
  after=$(tries_left "$STATE"); after=${after#* }
  what="a password of ${#pw} characters: pdfsig exits 2 saying '$want', writes nothing, $spent tries spent"
  if [ "$rc" = 2 ] && grep -qF "$want" "$T/bad.log" && [ ! -e "$T/work/bad.pdf" ] && [ "$((before - after))" = "$spent" ]; then
    pass "$what"
  else
    fail "$what" "exit $rc, sign tries $before -> $after: $(cat "$T/bad.log")"
  fi
}
bad_password WRONG99 'Password was not accepted to open the NSS database.' 1
bad_password ABC12 'Password was not accepted to open the NSS database.' 0
bad_password '' 'Password is needed to access the NSS database.' 0

# A one-byte change inside the signed range: the word in the content stream.
cp "$T/work/signed.pdf" "$T/work/tampered.pdf"
pos=$(grep -m1 -obUa 'myna-pkcs11 test page' "$T/work/tampered.pdf" | cut -d: -f1)
if [ -n "$pos" ]; then
  printf 'M' | dd of="$T/work/tampered.pdf" bs=1 seek="$pos" conv=notrunc status=none
  cmp -l "$T/work/signed.pdf" "$T/work/tampered.pdf" >"$T/cmp.log" 2>&1
  if [ "$(wc -l <"$T/cmp.log")" = 1 ]; then
    pass "tampered.pdf differs from signed.pdf in exactly one byte"
  else
    fail "tampered.pdf differs from signed.pdf in exactly one byte" "$(head "$T/cmp.log")"
  fi
  run_to "$T/verify-tampered.log" pdfsig -nssdir "sql:$NSSDB" "$T/work/tampered.pdf"
  expect_in "pdfsig tampered.pdf reports a digest mismatch" "$T/verify-tampered.log" 'Signature Validation: Digest Mismatch\.'
else
  fail "find the page text in signed.pdf" "not found"
fi

(cd "$T/work" && timeout -k 5 "$TMO" bash -e "$T/recipe.sh") <"$T/sign.pin" >"$T/again.log" 2>&1  # the right password restores the counter
check "myna-pkcs11 unregister" "$COMPANION" unregister --module "$MOD"
if grep -q "^library=$MOD\$" "$NSSDB/pkcs11.txt"; then fail "the module is gone from ~/.pki/nssdb" "$(cat "$NSSDB/pkcs11.txt")"; else pass "the module is gone from ~/.pki/nssdb"; fi
check_tries
finish
