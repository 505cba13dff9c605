#!/usr/bin/env bash
# XML signatures with the card's signature key, the card behind pcscd + vpcd.
# README.md's XmlSign.java (Java's XML Signature API through SunPKCS11) and
# the commands that run it, extracted and run verbatim: an enveloped and a
# detached signature (RSA-SHA256, the signature certificate in KeyInfo), each
# verified by Debian's xmlsec1 against the sign CA; a changed byte and the
# auth CA as trust anchor must be refused. A wrong and a locked password and
# the card taken out, with the card's tries and VERIFY count after each.
# Then why xmlsec1 itself cannot sign (README): its NSS back end is not built
# into the command, and its OpenSSL back end, through the libp11 engine, takes
# the card's key (and a SoftHSM key) for a public key. The signature
# certificate is personal data: outputs that print it stay in $T.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/cardwatch.sh"

for tool in java xmlsec1 softhsm2-util; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "run test/install-deps.sh"; finish; }
done
need_module
card_init
W="$T/work"; mkdir -p "$W"
cp "$SIGN_CA" "$W/sign-ca.pem"
run_to "$T/export.log" "$SIM" --export-certs "$T/card-certs" --include-sign-cert --state "$STATE" ||
  { fail "export the card's certificates" "$(cat "$T/export.log")"; finish; }
openssl x509 -in "$T/card-certs/sign-cert.pem" -out "$W/sign.pem"
openssl x509 -in "$W/sign.pem" -outform DER -out "$T/sign.der"
readme_recipe xmlsign "$W/XmlSign.java" 'XMLSignatureFactory'
readme_recipe xmlsec "$T/recipe.sh" 'xmlsec1 --verify'
printf 'name = myna-sign\nlibrary = %s\nslotListIndex = 1\n' "$MOD" >"$W/myna-sign.cfg"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<invoice id="42"><amount currency="JPY">1000</amount></invoice>\n' >"$W/invoice.xml"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<report><total>1000</total></report>\n' >"$W/report.xml"

pcsc_card
tries_are "before: every try left" "3 5"

# --- the recipe ---------------------------------------------------------------------------------
printf '%s\n%s\n' "$SIGN_PIN" "$SIGN_PIN" >"$T/pw"
rc=0
(cd "$W" && RUN_STDIN="$T/pw" MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_LOG="$T/module.log" run_to "$T/recipe.log" bash -e "$T/recipe.sh") || rc=$?
if [ "$rc" = 0 ] && [ "$(grep -cx OK "$T/recipe.log")" = 2 ]; then
  pass "README's xmlsec recipe: XmlSign.java signs enveloped and detached, xmlsec1 --verify says OK twice"
else
  fail "README's xmlsec recipe signs and xmlsec1 verifies" "exit $rc:"$'\n'"$(grep -v 'subject=' "$T/recipe.log" | tail -n 15)"; finish
fi
expect_in "java sees both tokens (module log: default for java)" "$T/module.log" 'configuration: tokens auth,sign \(default for java '
tries_are "the password was right: no try spent" "3 5"

# sig_has WHAT FILE REGEX: the signature in FILE has an element matching REGEX.
sig_has() { if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1" "no /$3/ in $2"; fi; }
for f in invoice-signed report-signature; do
  sig_has "$f.xml: RSA-SHA256" "$W/$f.xml" '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
  sed -n 's:.*<X509Certificate>\([^<]*\)</X509Certificate>.*:\1:p' "$W/$f.xml" | tr -d '\r\n' | base64 -d >"$T/$f.der" 2>/dev/null
  if cmp -s "$T/$f.der" "$T/sign.der"; then
    pass "$f.xml: KeyInfo holds the card's signature certificate"
  else
    fail "$f.xml: KeyInfo holds the card's signature certificate"
  fi
done
sig_has "invoice-signed.xml is enveloped (the signature inside <invoice>, enveloped-signature transform)" "$W/invoice-signed.xml" \
  '^<\?xml.*<invoice id="42"><amount currency="JPY">1000</amount><Signature xmlns=.*Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"'
sig_has "report-signature.xml is detached (Reference URI=\"report.xml\")" "$W/report-signature.xml" '<Reference URI="report.xml">'

# refused WHAT WHY SIG CA: xmlsec1 --verify of SIG with CA must fail with WHY in its output.
refused() {
  local rc=0
  (cd "$W" && run_to "$T/refused.log" xmlsec1 --verify --trusted-pem "$4" "$3") || rc=$?
  if [ "$rc" != 0 ] && grep -q -- "$2" "$T/refused.log"; then pass "$1 ($2)"
  else fail "$1" "exit $rc, want '$2':"$'\n'"$(grep -v 'subject=' "$T/refused.log" | tail -n 6)"; fi
}
sed 's/>1000</>9000</' "$W/invoice-signed.xml" >"$W/invoice-changed.xml"
[ "$(cmp -l "$W/invoice-signed.xml" "$W/invoice-changed.xml" | wc -l)" = 1 ] || fail "invoice-changed.xml differs in one byte"
refused "enveloped, one byte of the invoice changed: refused" 'data and digest do not match' invoice-changed.xml sign-ca.pem
cp "$W/report.xml" "$T/report.orig"
sed -i 's/>1000</>1001</' "$W/report.xml"
refused "detached, one byte of report.xml changed: refused" 'data and digest do not match' report-signature.xml sign-ca.pem
cp "$T/report.orig" "$W/report.xml"
refused "the auth CA as the trust anchor: refused" 'certificate verification failed' invoice-signed.xml "$AUTH_CA"

# --- what a person meets ------------------------------------------------------------------------
# java_sign WHAT REGEX PASSWORD TRIES N: XmlSign.java with PASSWORD must fail with
# REGEX in its output, leave TRIES and send N VERIFY (tries_are).
java_sign() {
  local rc=0
  printf '%s\n' "$3" >"$T/pw1"; watch
  (cd "$W" && RUN_STDIN="$T/pw1" run_to "$T/java.log" java XmlSign.java myna-sign.cfg invoice.xml out.xml) || rc=$?
  if [ "$rc" != 0 ] && grep -Eq -- "$2" "$T/java.log"; then pass "$1: java fails ($(grep -Eo -m1 -- "$2" "$T/java.log"))"
  else fail "$1: java fails with /$2/" "exit $rc:"$'\n'"$(grep -v 'subject=' "$T/java.log" | tail -n 8)"; fi
  tries_are "$1: the card's tries" "$4" "$5"
}
java_sign "a wrong password" 'CKR_PIN_INCORRECT' WRONG99 "3 4" 1
# Lock the password quickly (four more wrong tries through pkcs11-tool), then Java again.
for _ in 1 2 3 4; do
  pkcs11-tool --module "$MOD" --token-label "$SIGN_TOKEN_LABEL" --login --pin WRONG99 --read-object --type cert --id 02 -o /dev/null >/dev/null 2>&1
done
tries_are "four more wrong passwords (pkcs11-tool) lock it" "3 0"
java_sign "the right password on the locked card" 'CKR_PIN_LOCKED' "$SIGN_PIN" "3 0" 0
check "myna-sim --admin-reset (the municipal office) unlocks it" "$SIM" --admin-reset --state "$STATE"
card_out
java_sign "the card out of the reader" 'KeyStoreException: PKCS11 not found' "$SIGN_PIN" "3 5" 0
card_in
printf '%s\n' "$SIGN_PIN" >"$T/pw1"
check "the card back: java signs again" bash -c "cd '$W' && java XmlSign.java myna-sign.cfg invoice.xml again.xml <'$T/pw1'"
check "... and xmlsec1 verifies it" bash -c "cd '$W' && xmlsec1 --verify --trusted-pem sign-ca.pem again.xml"

# --- xmlsec1 cannot sign (Debian 12, 1.2.37) -------------------------------------------------------
# A template: the invoice with an empty enveloped RSA-SHA256 signature.
sed 's|</invoice>|<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature></invoice>|' \
  "$W/invoice.xml" >"$W/template.xml"
# xmlsec_sign_fails WHAT WHY ARGS...: xmlsec1 --sign ARGS must fail with WHY and write nothing.
xmlsec_sign_fails() {
  local what=$1 why=$2 rc=0; shift 2
  rm -f "$W/x.xml"
  (cd "$W" && run_to "$T/xs.log" xmlsec1 --sign "$@" --output x.xml template.xml) || rc=$?
  if [ "$rc" != 0 ] && [ ! -s "$W/x.xml" ] && grep -qF -- "$why" "$T/xs.log"; then pass "$what ($why)"
  else fail "$what" "exit $rc, want '$why':"$'\n'"$(grep -v 'subject=' "$T/xs.log" | tail -n 6)"; fi
}
xmlsec_sign_fails "xmlsec1 --crypto nss: not in Debian's command" "the only available crypto library is 'openssl'" --crypto nss
# A software key signs the template: the template is fine.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/soft.key" -out "$W/soft.pem" -subj /CN=soft -days 2 >/dev/null 2>&1
check "xmlsec1 signs the template with a software key" bash -c "cd '$W' && xmlsec1 --sign --privkey-pem soft.key,soft.pem --output soft.xml template.xml"
engine_conf "$W/engine.cnf" "$MOD"
printf '%s' "$SIGN_PIN" >"$W/pw.txt"   # libp11 reads the whole file: no newline
watch
OPENSSL_CONF="$W/engine.cnf" xmlsec_sign_fails "xmlsec1 with the card's key through the engine: 'key is not found'" 'key is not found' \
  --privkey-openssl-engine "pkcs11;$SIGN_TOKEN_URI;id=%02;type=private;pin-source=file:pw.txt,sign.pem"
tries_are "... no try spent" "3 5"
n=$(($(verifies) - WATCH_V0))
if [ "$n" -gt 0 ]; then pass "... after logging in to the card ($n VERIFY)"; else fail "... after logging in to the card" "no VERIFY sent"; fi
# The same with a SoftHSM key: xmlsec1, not the module.
export SOFTHSM2_CONF="$T/softhsm2.conf"
mkdir -p "$T/hsm"; printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$T/hsm" >"$SOFTHSM2_CONF"
HSM=/usr/lib/softhsm/libsofthsm2.so
check "a SoftHSM token holding the software key" bash -c "softhsm2-util --init-token --free --label xt --pin 123456 --so-pin 123456 &&
  pkcs11-tool --module $HSM --token-label xt --login --pin 123456 --write-object '$W/soft.key' --type privkey --id 01"
engine_conf "$W/hsm.cnf" "$HSM"
printf '123456' >"$W/hsm-pin.txt"
OPENSSL_CONF="$W/hsm.cnf" xmlsec_sign_fails "xmlsec1 with a SoftHSM key through the engine: 'key is not found' too" 'key is not found' \
  --privkey-openssl-engine "pkcs11;pkcs11:token=xt;id=%01;type=private;pin-source=file:hsm-pin.txt,soft.pem"
check_tries
finish
