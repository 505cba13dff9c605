#!/usr/bin/env bash
# Installs the Debian packages that building and testing myna-pkcs11 needs.
# Idempotent: packages already present are skipped. Needs root (apt-get).
set -euo pipefail
pkgs=(
  build-essential pkg-config libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd
  opensc opensc-pkcs11 softhsm2 libengine-pkcs11-openssl openssl
  gnutls-bin libnss3-tools p11-kit p11-kit-modules libp11-kit-dev libnss3-dev
  openssh-client openssh-server valgrind default-jdk-headless
  chromium xvfb xdotool poppler-utils python3
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  echo "install-deps: add /usr/local/go/bin to PATH" >&2
fi
