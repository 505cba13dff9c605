#!/usr/bin/env bash
# Java's jarsigner with SunPKCS11 on the sign token: README.md's jarsigner
# recipe (extracted and run verbatim, the password on jarsigner's standard
# input) signs a jar built here and verifies it with `jarsigner -verify
# -strict` against a truststore holding the sign CA. Then a jar with one
# changed class, and a truststore holding only the auth CA, are refused.
# The sign certificate is personal data: jarsigner runs without -certs and
# its output stays in $T.
. "$(dirname "$0")/../lib.sh"

for tool in javac jar jarsigner keytool; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "apt-get install default-jdk-headless"; finish; }
done
need_module
card_init
W="$T/work"; mkdir -p "$W/src" "$W/classes"
cp "$SIGN_CA" "$W/sign-ca.pem"
# The sign token is the second in the slot list (the module lists auth, then sign).
printf 'name = myna-sign\nlibrary = %s\nslotListIndex = 1\n' "$MOD" >"$W/myna-sign.cfg"
printf '%s\n' "$SIGN_PIN" >"$T/sign.pin"; chmod 600 "$T/sign.pin"

printf 'public class Hello {\n  public static void main(String[] a) { System.out.println("hello from a signed jar"); }\n}\n' \
  >"$W/src/Hello.java"
check "build app.jar (javac, jar)" bash -c "javac -d '$W/classes' '$W/src/Hello.java' && jar cfe '$W/app.jar' Hello -C '$W/classes' ." || finish

readme_recipe jarsigner "$T/recipe.sh" 'jarsigner -verify -strict'
rc=0
(cd "$W" && timeout -k 5 "$TMO" bash -e "$T/recipe.sh") <"$T/sign.pin" >"$T/recipe.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "README's jarsigner recipe signs app.jar with the sign key (SunPKCS11) and verifies it (-strict)"
else
  fail "README's jarsigner recipe signs and verifies app.jar" "exit $rc: $(grep -v -i 'CN=' "$T/recipe.log" | tail -n 10)"; finish
fi
expect_in "jarsigner -verify -strict says 'jar verified.'" "$T/recipe.log" '^jar verified\.$'
run_to "$T/unzip.log" jar tf "$W/app.jar"
expect_in "app.jar carries a signature block (META-INF/*.RSA)" "$T/unzip.log" '^META-INF/[^/]+\.RSA$'
check "the signed jar still runs (java -jar app.jar)" java -jar "$W/app.jar" && expect_in "java -jar prints its line" "$CHECK_LOG" '^hello from a signed jar$'

# verify_refused WHAT WHY JAR STORE: jarsigner -verify -strict must exit non-zero with WHY.
verify_refused() {
  local rc=0
  run_to "$T/refused.log" jarsigner -verify -strict -keystore "$4" -storepass changeit "$3" || rc=$?
  if [ "$rc" -ne 0 ] && grep -Eq "$2" "$T/refused.log"; then
    pass "$1"; info "exit $rc: $(grep -m1 -E "$2" "$T/refused.log" | cut -c1-140)"
  else
    fail "$1" "exit $rc, expected /$2/:"$'\n'"$(tail -n 8 "$T/refused.log")"
  fi
}

# A class changed by one byte (its string constant), the signature files kept.
cp "$W/app.jar" "$W/tampered.jar"
mkdir -p "$T/x"
(cd "$T/x" && jar xf "$W/tampered.jar" Hello.class && cp Hello.class Hello.orig &&
  sed -i 's/hello from a/hello frob a/' Hello.class && jar uf "$W/tampered.jar" Hello.class)
if [ "$(cmp -l "$T/x/Hello.orig" "$T/x/Hello.class" | wc -l)" = 1 ]; then
  pass "tampered.jar's Hello.class differs from the signed one in one byte"
else
  fail "tampered.jar's Hello.class differs from the signed one in one byte" "$(cmp -l "$T/x/Hello.orig" "$T/x/Hello.class" | sed -n 1,5p)"
fi
verify_refused "jarsigner -verify -strict refuses the jar with a changed class" 'digest error for Hello\.class' \
  "$W/tampered.jar" "$W/trust.p12"

# A truststore with the auth CA only: the signer's chain cannot be built.
check "a truststore holding only the auth CA (keytool -importcert)" keytool -importcert -noprompt -alias jpki-auth-ca \
  -file "$AUTH_CA" -keystore "$T/wrong.p12" -storetype PKCS12 -storepass changeit
verify_refused "jarsigner -verify -strict refuses the jar when the truststore lacks the sign CA" \
  'certificate chain is invalid|not signed by alias in this keystore' "$W/app.jar" "$T/wrong.p12"

check_tries
finish
