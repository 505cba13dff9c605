#!/usr/bin/env bash
# Java's SunPKCS11 provider against our module and a fresh simulated card.
# One SunPKCS11 configuration per token (name, library, slot); the program
# test/java/MynaKeyStoreCheck.java (compiled here with javac into the temp dir)
# lists the KeyStore aliases without and with login, signs with SHA256withRSA
# with each key and verifies with the certificate; then keytool -list shows
# the entries of each token.
. "$(dirname "$0")/../lib.sh"

for tool in java javac keytool; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "apt-get install default-jdk-headless"; finish; }
done
need_module
card_init

# slot_of LABEL: the slot ID (decimal) of the token with that label, from pkcs11-tool -L.
slot_of() {
  awk -v want="$1" '
    /^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { s = $3; gsub(/[():]/, "", s) }
    /token label/ { l = $0; sub(/^[^:]*: /, "", l); sub(/ +$/, "", l); if (l == want) { print s; exit } }
  ' "$T/slots.log" | { read -r hex && echo $((hex)); }
}
# index_of LABEL: the token's position in the slot list (pkcs11-tool's "Slot N").
index_of() {
  awk -v want="$1" '
    /^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { i = $2 }
    /token label/ { l = $0; sub(/^[^:]*: /, "", l); sub(/ +$/, "", l); if (l == want) { print i; exit } }
  ' "$T/slots.log"
}
run_to "$T/slots.log" pkcs11-tool --module "$MOD" -L
AUTH_SLOT=$(slot_of "$AUTH_TOKEN_LABEL")
SIGN_SLOT=$(slot_of "$SIGN_TOKEN_LABEL")
AUTH_INDEX=$(index_of "$AUTH_TOKEN_LABEL")
SIGN_INDEX=$(index_of "$SIGN_TOKEN_LABEL")
if [ -z "$AUTH_SLOT" ] || [ -z "$SIGN_SLOT" ] || [ -z "$AUTH_INDEX" ] || [ -z "$SIGN_INDEX" ]; then
  fail "find the slot IDs of the two tokens" "$(cat "$T/slots.log")"; finish
fi

# SunPKCS11 configurations; the provider names become SunPKCS11-myna-auth / -sign.
# The Java program selects the token by slot ID, keytool by slotListIndex.
printf 'name = myna-auth\nlibrary = %s\nslot = %s\n' "$MOD" "$AUTH_SLOT" >"$T/auth.cfg"
printf 'name = myna-sign\nlibrary = %s\nslot = %s\n' "$MOD" "$SIGN_SLOT" >"$T/sign.cfg"
printf 'name = myna-auth\nlibrary = %s\nslotListIndex = %s\n' "$MOD" "$AUTH_INDEX" >"$T/auth-index.cfg"
printf 'name = myna-sign\nlibrary = %s\nslotListIndex = %s\n' "$MOD" "$SIGN_INDEX" >"$T/sign-index.cfg"
for f in auth sign auth-index sign-index; do info "$f.cfg: $(tr '\n' ';' <"$T/$f.cfg")"; done

mkdir -p "$T/classes"
if ! check "javac MynaKeyStoreCheck.java" javac -d "$T/classes" "$ROOT/test/java/MynaKeyStoreCheck.java"; then
  finish
fi

MYNA_AUTH_PIN=$AUTH_PIN MYNA_SIGN_PIN=$SIGN_PIN run_to "$T/java.log" \
  java -cp "$T/classes" MynaKeyStoreCheck "$T/auth.cfg" "$T/sign.cfg" "$AUTH_CERT"
rc=$?
while IFS= read -r line; do
  case "$line" in
    "RESULT PASS "*) pass "${line#RESULT PASS }" ;;
    "RESULT FAIL "*) fail "${line#RESULT FAIL }" ;;
  esac
done <"$T/java.log"
if crashed "$rc" || ! grep -q '^INFO .* failure(s)' "$T/java.log"; then
  fail "the Java program ran to the end" "exit $rc:"$'\n'"$(tail -n 20 "$T/java.log")"
fi

# keytool -list: PIN through -storepass (keytool reads it from the command line).
# keytool_list WHAT CFG PIN: the listing shows at least one PrivateKeyEntry.
keytool_list() {
  local log="$T/keytool-$1.log"
  run_to "$log" keytool -list -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11 \
    -providerArg "$2" -storepass "$3"
  if grep -q 'PrivateKeyEntry' "$log"; then
    pass "keytool -list -storetype PKCS11 ($1 token, slotListIndex) shows $(grep -c PrivateKeyEntry "$log") PrivateKeyEntry"
    grep -E 'entr(y|ies)|PrivateKeyEntry|trustedCertEntry' "$log" | sed 's/^/    /'
  else
    fail "keytool -list -storetype PKCS11 ($1 token) shows a PrivateKeyEntry" "$(tail -n 15 "$log")"
  fi
}
keytool_list auth "$T/auth-index.cfg" "$AUTH_PIN"
keytool_list sign "$T/sign-index.cfg" "$SIGN_PIN"

check_tries
finish
