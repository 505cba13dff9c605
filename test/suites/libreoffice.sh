#!/usr/bin/env bash
# LibreOffice's command-line PDF export cannot sign with the card (README).
# In a fresh home whose ~/.pki/nssdb has the module (added by `myna-pkcs11
# register`) and is LibreOffice's database through $MOZILLA_CERTIFICATE_FOLDER,
# `soffice --headless --convert-to 'pdf:writer_pdf_Export:{JSON}'` runs with the
# signing options of the writer_pdf_Export filter (SignPDF,
# SignCertificateSubjectName, SignaturePassword; LibreOffice's
# filter/source/pdf/pdfexport.cxx), the card behind pcscd + vpcd:
#   - with SignPDF false it writes the PDF (the export itself works here);
#   - naming the card's sign certificate by its subject, with the password, it
#     prints "Error: Please verify input parameters... (... Error Area:Io
#     Class:Write Code:16)", exits 0 and writes no PDF; soffice.bin loaded the
#     module, which showed it the sign token only, and got no C_Login and no
#     C_Sign: the password never reaches the card, no try is spent (the
#     certificate shows only after login, and LibreOffice never logs in);
#   - naming no certificate, the same error (it has none to sign with);
#   - with a software key in an NSS database of its own it signs when that
#     database has no password (pdfsig: valid), and fails as above when it
#     has one, even given as SignaturePassword: the command line signs only
#     with a key that needs no password.
. "$(dirname "$0")/../lib.sh"

COMPANION=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
command -v soffice >/dev/null || { fail "LibreOffice is installed (soffice)" "run test/install-deps.sh (libreoffice-writer-nogui)"; finish; }
[ -x "$COMPANION" ] || { fail "the companion command is built" "make build/out/myna-pkcs11"; finish; }
need_module
info "$(soffice --version 2>/dev/null | sed -n 1p)"
SIM_VIA=pcsc # the card behind pcscd + vpcd, as on a desktop
card_init

export HOME="$T/home" MYNA_PKCS11_DEBUG=3
NSSDB="$HOME/.pki/nssdb"
mkdir -p "$NSSDB" "$T/work"
check "an NSS database in ~/.pki/nssdb (certutil -N)" certutil -N --empty-password -d "sql:$NSSDB" || finish
run_to "$T/register.log" env MOZILLA_CERTIFICATE_FOLDER="sql:$NSSDB" "$COMPANION" register --module "$MOD"
expect_in "register: LibreOffice reads ~/.pki/nssdb (\$MOZILLA_CERTIFICATE_FOLDER)" "$T/register.log" \
  "^uses +LibreOffice: reads Chromium \($NSSDB\) \(\\\$MOZILLA_CERTIFICATE_FOLDER\)" || finish

# The card's sign certificate's subject, as NSS writes it (RFC 2253 order):
# personal data, kept in $T and never printed (nor soffice's "convert ..." line,
# which echoes the filter options).
"$SIM" --export-certs "$T/signcert" --include-sign-cert --state "$STATE" >/dev/null 2>&1
CARD_SUBJECT=$(openssl x509 -in "$T/signcert/sign-cert.pem" -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//')
[ -n "$CARD_SUBJECT" ] || { fail "read the sign certificate's subject"; finish; }

# A software signer: a CA and a key and certificate for signing
# (digitalSignature, emailProtection), in two NSS databases of their own: one
# without a password, one whose password is SW_PW.
SWDB="$T/swdb" SWPWDB="$T/swpwdb" SW_PW=swpass123 SW_SUBJECT="CN=myna-pkcs11 test software signer,C=JP"
mkdir -p "$SWDB" "$SWPWDB"
printf '%s\n' "$SW_PW" >"$T/swpw.txt"
{
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/swca.key" -out "$T/swca.pem" -days 2 -subj "/CN=myna-pkcs11 test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
  openssl req -newkey rsa:2048 -nodes -keyout "$T/sw.key" -out "$T/sw.csr" -subj "/C=JP/CN=myna-pkcs11 test software signer" &&
  printf 'keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n' >"$T/sw.ext" &&
  openssl x509 -req -in "$T/sw.csr" -CA "$T/swca.pem" -CAkey "$T/swca.key" -CAcreateserial -days 2 -out "$T/sw.pem" -extfile "$T/sw.ext" &&
  openssl pkcs12 -export -inkey "$T/sw.key" -in "$T/sw.pem" -name signer -out "$T/sw.p12" -passout pass: &&
  certutil -N --empty-password -d "sql:$SWDB" &&
  certutil -A -d "sql:$SWDB" -n "test CA" -t C,C,C -a -i "$T/swca.pem" &&
  pk12util -i "$T/sw.p12" -d "sql:$SWDB" -W '' &&
  certutil -N -f "$T/swpw.txt" -d "sql:$SWPWDB" &&
  certutil -A -d "sql:$SWPWDB" -f "$T/swpw.txt" -n "test CA" -t C,C,C -a -i "$T/swca.pem" &&
  pk12util -i "$T/sw.p12" -d "sql:$SWPWDB" -k "$T/swpw.txt" -W ''
} >"$T/swdb.log" 2>&1 || { fail "a software signer in NSS databases of its own" "$(tail "$T/swdb.log")"; finish; }

# The document: one line of text (flat ODF), converted once per case below.
cat >"$T/work/in.fodt" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"
  office:mimetype="application/vnd.oasis.opendocument.text">
 <office:body><office:text><text:p>myna-pkcs11 test page</text:p></office:text></office:body>
</office:document>
EOF

# opt NAME TYPE VALUE: one filter option in --convert-to's JSON form.
opt() { printf '"%s":{"type":"%s","value":"%s"}' "$1" "$2" "$3"; }
SIGN=$(opt SignPDF boolean true)
IO16='^Error: Please verify input parameters\.\.\. \(SfxBaseModel::impl_store <file://.*/in\.pdf> failed: 0xc10\(Error Area:Io Class:Write Code:16\)'

# The cases: name | NSS database | filter options | outcome | module.
# Outcome: pdf (a PDF without signature), signed (a PDF whose signature pdfsig
# finds valid), io16 (the error above, no PDF). Module: card (soffice.bin
# loaded it and found the card; no C_Login, no C_Sign), none (no module log:
# LibreOffice did not open the database), - (not in that database).
CARD=$(opt SignCertificateSubjectName string "$CARD_SUBJECT") PW=$(opt SignaturePassword string "$SIGN_PIN")
cases=(
  "SignPDF false|$NSSDB|$(opt SignPDF boolean false),$PW|pdf|-"
  "SignPDF, the card's sign certificate subject and password|$NSSDB|$SIGN,$CARD,$PW|io16|card"
  "SignPDF false, the card's sign certificate subject|$NSSDB|$(opt SignPDF boolean false),$CARD,$PW|io16|card"
  "SignPDF and the card's password, no certificate named|$NSSDB|$SIGN,$PW|io16|none"
  "SignPDF, a software key's subject, its database without password|$SWDB|$SIGN,$(opt SignCertificateSubjectName string "$SW_SUBJECT")|signed|-"
  "SignPDF, a software key's subject, its database's password|$SWPWDB|$SIGN,$(opt SignCertificateSubjectName string "$SW_SUBJECT"),$(opt SignaturePassword string "$SW_PW")|io16|-"
)
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r name db opts want module <<<"$c"
  i=$((i + 1)) out="$T/work/out$i" log="$T/soffice-$i.log" mlog="$T/module-$i.log" rc=0
  run_to "$log" env MOZILLA_CERTIFICATE_FOLDER="sql:$db" MYNA_PKCS11_LOG="$mlog" \
    soffice --headless --convert-to "pdf:writer_pdf_Export:{$opts}" --outdir "$out" "$T/work/in.fodt" || rc=$?
  case $want in
    io16)
      if [ "$rc" = 0 ] && grep -Eq "$IO16" "$log" && [ ! -e "$out/in.pdf" ]; then
        pass "[$name] soffice prints 'Error: ... Io Class:Write Code:16', exits 0 and writes no PDF"
      else
        fail "[$name] soffice prints 'Error: ... Io Class:Write Code:16', exits 0 and writes no PDF" \
          "exit $rc, $(ls "$out" 2>&1): $(grep -v -e javaldx -e "^convert " "$log")"
      fi ;;
    *)
      if [ "$rc" = 0 ] && [ -s "$out/in.pdf" ] && ! grep -q '^Error' "$log"; then
        pass "[$name] soffice exits 0 and writes the PDF"
      else
        fail "[$name] soffice exits 0 and writes the PDF" "exit $rc: $(grep -v -e javaldx -e "^convert " "$log")"
      fi
      run_to "$T/pdfsig-$i.log" pdfsig "$out/in.pdf"
      if [ "$want" = pdf ]; then
        expect_in "[$name] pdfsig: the PDF has no signature" "$T/pdfsig-$i.log" 'does not contain any signatures'
      else
        expect_in "[$name] pdfsig: the PDF is signed by the software key" "$T/pdfsig-$i.log" "Signer full Distinguished Name: $SW_SUBJECT\$"
        expect_in "[$name] pdfsig: the signature is valid" "$T/pdfsig-$i.log" 'Signature Validation: Signature is Valid\.'
      fi ;;
  esac
  case $module in
    card)
      # What soffice.bin did with the module (log level 3: every call).
      expect_in "[$name] soffice.bin loaded the module, which showed it the sign token only" "$mlog" \
        'configuration: tokens sign \(default for soffice\.bin \(a document signer\)\)'
      expect_in "[$name] the module found the card through pcscd" "$mlog" "reader \"$SIM_READER\": My Number Card found"
      if grep -Eq 'call C_(Login|SignInit|Sign)\(' "$mlog"; then
        fail "[$name] no password reached the module and nothing was signed (no C_Login, no C_Sign)" "$(grep -E 'call C_(Login|Sign)' "$mlog")"
      else
        pass "[$name] no password reached the module and nothing was signed (no C_Login, no C_Sign)"
      fi ;;
    none)
      if [ -e "$mlog" ]; then
        fail "[$name] LibreOffice did not load the module (no certificate named, none to look for)" "$(head -n 5 "$mlog")"
      else
        pass "[$name] LibreOffice did not load the module (no certificate named, none to look for)"
      fi ;;
  esac
done
check_tries
finish
