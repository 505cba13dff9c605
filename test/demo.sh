#!/usr/bin/env bash
# The demo behind `make demo`: the module against the built-in simulated card.
# It lists the slots, logs in, signs with each key and verifies both
# signatures with openssl, printing each step. No card reader needed.
set -euo pipefail
cd "$(dirname "$0")/.."
MOD="$PWD/build/libmyna-pkcs11.so"
SIM="$PWD/build/out/myna-sim"
DIR="$PWD/build/out/demo"
mkdir -p "$DIR"
STATE="$DIR/card.json"
AUTH_PIN=1234 SIGN_PIN=ABC123

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

if [ ! -f "$STATE" ]; then
  step "Creating a simulated My Number Card (state file $STATE)"
  show "$SIM" --init --state "$STATE"
fi
export MYNA_PKCS11_SIM="$STATE"
step "Simulated card: tries left and certificates (personal data not shown)"
show "$SIM" --status --state "$STATE"

step "The module: slots and tokens (pkcs11-tool -L)"
show pkcs11-tool --module "$MOD" -L

step "Objects visible without a PIN (the sign certificate is not among them)"
show pkcs11-tool --module "$MOD" --slot-index 0 -O
show pkcs11-tool --module "$MOD" --slot-index 1 -O

printf 'My Number Card demo, %s\n' "$(date -u +%FT%TZ)" > "$DIR/data.txt"

sign_and_verify() { # slot-index id pin name
  local idx=$1 id=$2 pin=$3 name=$4
  step "Sign with the $name key (slot index $idx, CKA_ID $id, SHA256-RSA-PKCS)"
  show pkcs11-tool --module "$MOD" --slot-index "$idx" --login --pin "$pin" \
    --sign --id "$id" -m SHA256-RSA-PKCS -i "$DIR/data.txt" -o "$DIR/$name.sig"
  show pkcs11-tool --module "$MOD" --slot-index "$idx" --login --pin "$pin" \
    --read-object --type cert --id "$id" -o "$DIR/$name.der"
  openssl x509 -inform DER -in "$DIR/$name.der" -pubkey -noout > "$DIR/$name.pub.pem"
  step "Verify the $name signature with openssl"
  show openssl dgst -sha256 -verify "$DIR/$name.pub.pem" -signature "$DIR/$name.sig" "$DIR/data.txt"
}
sign_and_verify 0 01 "$AUTH_PIN" auth
sign_and_verify 1 02 "$SIGN_PIN" sign

step "PKCS#11 URIs of the tokens (RFC 7512), for OpenSSL, GnuTLS, ssh and others"
show p11tool --provider "$MOD" --list-tokens | grep -E 'Token|URL|Label' || true

step "Done: both signatures verified. Files are in $DIR"
