#!/usr/bin/env bash
# Independent check of the simulator: OpenSC's own PKCS#11 module (its jpki
# driver, written against real cards) must see the simulated My Number Card
# behind pcscd + vsmartcard's vpcd exactly as a real one:
#   1. pkcs11-tool -L lists both JPKI tokens,
#   2. it reads the auth certificate, identical to the simulator's,
#   3. it logs in with the auth PIN and signs with SHA256-RSA-PKCS,
#   4. openssl verifies that signature with the simulator's certificate,
#   5. the retry counter is still full afterwards.
# Prints one PASS/FAIL line per step; exits non-zero on any failure. Stops
# pcscd and the simulator by PID. Needs root for the first package install.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OSC_MOD=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
AUTH_PIN=1234
# step NAME CMD...: run CMD with its output in $LIB_TMP/<n>.log.
STEP=0
step() {
  local name=$1; shift
  STEP=$((STEP + 1))
  local log="$LIB_TMP/step$STEP.log"
  if timeout 60 "$@" >"$log" 2>&1; then pass "$name"; return 0; fi
  fail "$name" "log follows:"$'\n'"$(tail -n 20 "$log")"; return 1
}

need_root_deps >/dev/null || { fail "install dependencies"; exit 1; }
start_pcscd || { fail "start pcscd"; exit 1; }
pass "start pcscd (pid $PCSCD_PID)"

STATE="$LIB_TMP/card.json"
build_sim || { fail "build myna-sim"; exit 1; }
step "create simulated card" "$SIM_BIN" --state "$STATE" --init || exit 1
step "export public certificates" "$SIM_BIN" --state "$STATE" --export-certs "$LIB_TMP/certs" || exit 1
start_sim "$STATE" 35963 || { fail "start simulator behind vpcd"; exit 1; }
pass "start simulator behind vpcd (pid $SIM_PID, reader '$SIM_READER')"

# Private OpenSC configuration: no file cache (every JPKI card has serial
# 00000000, so a cache from another card would be served instead).
export OPENSC_CONF="$LIB_TMP/opensc.conf"
cat >"$OPENSC_CONF" <<'EOF'
app default {
  framework pkcs15 {
    use_file_caching = no;
  }
}
EOF
export HOME="$LIB_TMP/home"; mkdir -p "$HOME"

P11=(pkcs11-tool --module "$OSC_MOD")

# 1. Both tokens listed.
if "${P11[@]}" -L >"$LIB_TMP/list.txt" 2>&1 &&
  grep -q 'User Authentication PIN' "$LIB_TMP/list.txt" &&
  grep -q 'Digital Signature PIN' "$LIB_TMP/list.txt"; then
  pass "pkcs11-tool -L lists the auth and sign tokens"
else
  fail "pkcs11-tool -L lists the auth and sign tokens"; sed 's/^/      /' "$LIB_TMP/list.txt"
fi
AUTH_TOKEN=$(sed -n 's/^ *token label *: *\(.*User Authentication PIN.*\)$/\1/p' "$LIB_TMP/list.txt" | sed -n 1p | sed 's/ *$//')
[ -n "$AUTH_TOKEN" ] || AUTH_TOKEN="JPKI (User Authentication PIN)"

# 2. Auth certificate read through OpenSC equals the simulator's.
openssl x509 -in "$LIB_TMP/certs/auth-cert.pem" -outform DER -out "$LIB_TMP/auth-sim.der"
if step "pkcs11-tool reads the auth certificate" \
  "${P11[@]}" --token-label "$AUTH_TOKEN" --read-object --type cert --id 01 -o "$LIB_TMP/auth-osc.der"; then
  if cmp -s "$LIB_TMP/auth-osc.der" "$LIB_TMP/auth-sim.der"; then
    pass "auth certificate from OpenSC is byte-identical to the simulator's"
  else
    fail "auth certificate from OpenSC is byte-identical to the simulator's"
  fi
fi

# 3. Log in with the auth PIN and sign.
printf 'myna-pkcs11 independent check %s\n' "$(date +%s)" >"$LIB_TMP/msg"
rm -f "$LIB_TMP/sig"
step "pkcs11-tool logs in with the auth PIN and signs (SHA256-RSA-PKCS)" \
  "${P11[@]}" --token-label "$AUTH_TOKEN" --login --pin "$AUTH_PIN" --sign -m SHA256-RSA-PKCS --id 01 \
  -i "$LIB_TMP/msg" -o "$LIB_TMP/sig"

# 4. openssl verifies the signature with the simulator's certificate.
openssl x509 -in "$LIB_TMP/certs/auth-cert.pem" -pubkey -noout >"$LIB_TMP/auth-pub.pem"
if [ -s "$LIB_TMP/sig" ]; then
  step "openssl dgst -sha256 -verify accepts the signature" \
    openssl dgst -sha256 -verify "$LIB_TMP/auth-pub.pem" -signature "$LIB_TMP/sig" "$LIB_TMP/msg"
else
  fail "openssl dgst -sha256 -verify accepts the signature" "no signature was produced"
fi

# 5. The correct PIN left the counter full (no try was burnt).
# (Captured first: `myna-sim --status | grep -q` under pipefail failed at
# random when grep exited before myna-sim had written all of its lines.)
status=$(sim_status "$STATE")
if grep -q 'auth PIN: *3 of 3 tries left' <<<"$status"; then
  pass "auth PIN retry counter still 3 of 3"
else
  fail "auth PIN retry counter still 3 of 3" "$(grep 'auth PIN' <<<"$status")"
fi

stop_sim
stop_pcscd
[ "$N_FAIL" -eq 0 ] || info "pcscd log: $LIB_TMP/pcscd.log, simulator log: $LIB_TMP/sim.log (MYNA_TEST_KEEP=1 keeps them)"
finish
