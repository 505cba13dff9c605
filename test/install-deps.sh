#!/usr/bin/env bash
# Installs the Debian packages that building and testing myna-pkcs11 needs.
# Idempotent: packages already present are skipped. Needs root (apt-get).
set -euo pipefail
pkgs=(
  build-essential pkg-config libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd
  opensc opensc-pkcs11 softhsm2 libengine-pkcs11-openssl openssl
  gnutls-bin libnss3-tools p11-kit p11-kit-modules libp11-kit-dev libnss3-dev libnspr4-dev
  openssh-client openssh-server valgrind default-jdk-headless shellcheck
)
missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=""
  [ "$status" = 'install ok installed' ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH="/usr/local/go/bin:$PATH"
# staticcheck, pinned: built from the Go module proxy into the Go bin
# directory (test/static-checks.sh runs it from there).
STATICCHECK_VERSION=v0.8.2
sc="$(go env GOPATH)/bin/staticcheck"
have=""
[ ! -x "$sc" ] || have=$("$sc" -version 2>/dev/null) || have=""
case "$have" in
  *"(${STATICCHECK_VERSION#v})"*) ;;
  *)
    echo "install-deps: installing staticcheck $STATICCHECK_VERSION"
    GOFLAGS= GOBIN="$(dirname "$sc")" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
    ;;
esac
