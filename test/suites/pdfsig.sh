#!/usr/bin/env bash
# pdfsig (poppler-utils) signs a PDF with the card's signature key, with the
# module added by `myna-pkcs11 register` on a fresh home and no other setting
# (the module shows pdfsig only the sign token, so its one password goes to the
# right token). The signing command is README.md's pdfsig recipe, extracted and
# run verbatim (the password on its standard input). Then `pdfsig signed.pdf`
# must report a valid signature whose certificate is trusted once the sign CA
# is, and a one-byte change inside the signed range a digest mismatch.
. "$(dirname "$0")/common.sh"

COMPANION=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
command -v pdfsig >/dev/null || { fail "pdfsig is installed" "run test/install-deps.sh (poppler-utils)"; finish; }
[ -x "$COMPANION" ] || { fail "the companion command is built" "make build/out/myna-pkcs11"; finish; }
need_module
card_init

export HOME="$T/home"
mkdir -p "$HOME"
NSSDB="$HOME/.pki/nssdb"
check "myna-pkcs11 register on a fresh home" "$COMPANION" register --module "$MOD" || finish

# The recipe: the fenced block after the marker line in README.md.
readme_recipe pdfsig "$T/recipe.sh" 'pdfsig -add-signature'

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

rc=0
(cd "$T/work" && MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_LOG="$T/module.log" timeout -k 5 "$TMO" bash -e "$T/recipe.sh") \
  <"$T/sign.pin" >"$T/recipe.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && [ -s "$T/work/signed.pdf" ]; then
  pass "README's pdfsig recipe signs the PDF with the card (signed.pdf written)"
else
  fail "README's pdfsig recipe signs the PDF with the card" "exit $rc: $(tail -n 8 "$T/recipe.log")"$'\n'"module: $(tail -n 5 "$T/module.log")"; finish
fi
expect_in "the module showed pdfsig only the sign token (logged at level 1)" "$T/module.log" \
  'configuration: tokens sign \(default for pdfsig \(a document signer\)\)'
if grep -q 'C_Login.*CKR_' "$T/module.log"; then
  fail "the one password went to the sign token and was accepted" "$(grep C_Login "$T/module.log")"
else
  pass "the one password went to the sign token and was accepted (no refused C_Login)"
fi

# Verification: valid; trusted once the sign CA is trusted for signing.
run_to "$T/verify-untrusted.log" pdfsig "$T/work/signed.pdf"
expect_in "pdfsig signed.pdf: the signature is valid" "$T/verify-untrusted.log" 'Signature Validation: Signature is Valid\.'
check "trust the card's sign CA in the database (certutil -t ,C,)" \
  certutil -A -d "sql:$NSSDB" -n "JPKI sign CA" -t ",C," -a -i "$SIGN_CA"
run_to "$T/verify.log" pdfsig "$T/work/signed.pdf"
expect_in "pdfsig signed.pdf: still valid" "$T/verify.log" 'Signature Validation: Signature is Valid\.'
expect_in "pdfsig signed.pdf: the certificate is trusted with the sign CA" "$T/verify.log" 'Certificate Validation: Certificate is Trusted\.'
# The signature format: pdfsig (poppler 22.02) writes a PKCS#7 detached
# signature (/SubFilter /adbe.pkcs7.detached), not ETSI.CAdES.detached (PAdES).
subfilter=$(grep -a -o '/SubFilter */[A-Za-z0-9.]*' "$T/work/signed.pdf" | sed 's|^/SubFilter */||')
if [ "$subfilter" = adbe.pkcs7.detached ]; then
  pass "signed.pdf has /SubFilter /adbe.pkcs7.detached (PKCS#7 detached, not ETSI.CAdES.detached)"
else
  fail "signed.pdf has /SubFilter /adbe.pkcs7.detached" "found: '${subfilter:-none}'"
fi
expect_in "pdfsig signed.pdf reports Signature Type: adbe.pkcs7.detached" "$T/verify.log" 'Signature Type: adbe\.pkcs7\.detached$'
SIGN_FP=$(openssl x509 -in "$SIGN_CA" -noout -subject 2>/dev/null)
info "sign CA: $SIGN_FP"

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
  run_to "$T/verify-tampered.log" pdfsig "$T/work/tampered.pdf"
  expect_in "pdfsig tampered.pdf reports a digest mismatch" "$T/verify-tampered.log" 'Signature Validation: Digest Mismatch\.'
else
  fail "find the page text in signed.pdf" "not found"
fi

check "myna-pkcs11 unregister" "$COMPANION" unregister --module "$MOD"
if grep -q "^library=$MOD\$" "$NSSDB/pkcs11.txt"; then fail "the module is gone from ~/.pki/nssdb" "$(cat "$NSSDB/pkcs11.txt")"; else pass "the module is gone from ~/.pki/nssdb"; fi
check_tries
finish
