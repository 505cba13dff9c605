#!/usr/bin/env bash
# Installs the Debian packages that building and testing myna-pkcs11 needs.
# Idempotent: packages already present are skipped. Needs root (apt-get).
# Runs on Debian 12 (bookworm) and 13 (trixie; test/trixie.sh runs it inside
# its Debian 13 root).
#   --list           print the Debian packages this release needs, one a line
#   --packages-only  install the Debian packages only, not the Go tools
set -euo pipefail
pkgs=(
  build-essential pkg-config libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd
  opensc opensc-pkcs11 softhsm2 libengine-pkcs11-openssl openssl
  gnutls-bin libnss3-tools p11-kit p11-kit-modules libp11-kit-dev libnss3-dev libnspr4-dev
  openssh-client openssh-server valgrind default-jdk-headless shellcheck
  chromium firefox-esr thunderbird xvfb xdotool poppler-utils python3 libpam-pkcs11 pamtester
  python3-pykcs11 xmlsec1 git gnupg gnupg-pkcs11-scd curl iproute2 procps man-db debootstrap
  dbus-daemon libreoffice-writer-nogui
)
# libreoffice-writer-nogui: the smallest LibreOffice that runs `soffice --headless
# --convert-to pdf` (filter writer_pdf_Export), for test/suites/libreoffice.sh;
# without recommends, 49 packages and 259 MB on Debian 12. Debian 13 has it too.
# Packages Debian 12 has only in bookworm-backports (installed below); later
# releases have them in main.
backports=(pkcs11-provider)
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" != bookworm ]; then pkgs+=("${backports[@]}"); backports=(); fi
case "${1:-}" in
  --list) printf '%s\n' "${pkgs[@]}" "${backports[@]}"; exit 0 ;;
esac
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

# Packages Debian 12 has only in bookworm-backports: fetched with a private
# apt sources list and state directory (the machine's sources are never
# changed), then installed as local .deb files with their dependencies from
# the configured sources.
bp_missing=()
for p in "${backports[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=""
  [ "$status" = 'install ok installed' ] || bp_missing+=("$p")
done
if [ ${#bp_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install (from bookworm-backports): ${bp_missing[*]}" >&2; exit 1
  fi
  echo "install-deps: installing ${bp_missing[*]} from bookworm-backports (private sources list)"
  bp=/var/cache/myna-pkcs11/backports
  mkdir -p "$bp/lists/partial" "$bp/cache/archives/partial" "$bp/debs"
  echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$bp/sources.list"
  bp_apt=(-o "Dir::Etc::SourceList=$bp/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$bp/lists" -o "Dir::Cache=$bp/cache")
  apt-get "${bp_apt[@]}" update -qq
  rm -f "$bp/debs/"*.deb
  (cd "$bp/debs" && apt-get "${bp_apt[@]}" download "${bp_missing[@]}" 2>/dev/null)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$bp/debs/"*.deb >/dev/null
fi
[ "${1:-}" != --packages-only ] || exit 0

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
    GOFLAGS='' GOBIN="$(dirname "$sc")" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
    ;;
esac
