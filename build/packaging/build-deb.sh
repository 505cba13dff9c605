#!/usr/bin/env bash
# Builds the Debian package of myna-pkcs11 with dpkg-deb from a staged
# `make install DESTDIR=...`. Called by `make deb`; usage:
#
#   VERSION=0.1.0 DEB_ARCH=amd64 DEB_HOST_MULTIARCH=x86_64-linux-gnu \
#     bash build/packaging/build-deb.sh build/myna-pkcs11_0.1.0_amd64.deb
#
# The package holds the module (/usr/lib/<multiarch>/pkcs11/libmyna-pkcs11.so),
# its p11-kit registration (/usr/share/p11-kit/modules/myna-pkcs11.module),
# the companion command (/usr/bin/myna-pkcs11), the man pages and
# /usr/share/doc/myna-pkcs11. No maintainer scripts are needed: p11-kit
# reads its module directory each time a program loads it.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?usage: build-deb.sh OUTPUT.deb}
VERSION=${VERSION:?set VERSION}
DEB_ARCH=${DEB_ARCH:-$(dpkg --print-architecture)}
DEB_HOST_MULTIARCH=${DEB_HOST_MULTIARCH:-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)}
MAKE=${MAKE:-make}
MAINTAINER=${DEB_MAINTAINER:-myna-pkcs11 developers <myna-pkcs11@localhost>}

STAGE=$(mktemp -d /tmp/myna-deb.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
ROOTFS="$STAGE/root"
mkdir -p "$ROOTFS"

# 1. The files, exactly as `make install` puts them.
$MAKE --no-print-directory install DESTDIR="$ROOTFS" PREFIX=/usr DEB_HOST_MULTIARCH="$DEB_HOST_MULTIARCH" >/dev/null

# Debian policy: man pages gzipped (-n: reproducible), docs in /usr/share/doc.
find "$ROOTFS/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
DOC="$ROOTFS/usr/share/doc/myna-pkcs11"
install -d "$DOC"
cat >"$DOC/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: myna-pkcs11
Comment: PKCS#11 module for the Japanese My Number Card (JPKI applet),
 written in Go. See the project repository for the licence terms.

Files: *
Copyright: the myna-pkcs11 developers
License: see-upstream
 The licence is stated in the project repository.
EOF
printf 'myna-pkcs11 (%s) unstable; urgency=medium\n\n  * Package built from the repository with make deb.\n\n -- %s  %s\n' \
  "$VERSION" "$MAINTAINER" "$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" |
  gzip -9n >"$DOC/changelog.gz"
chmod 0644 "$DOC"/*

# 2. Shared-library dependencies of the two binaries (libc6, libpcsclite1),
#    from dpkg-shlibdeps when it works, else the versions seen on Debian 12.
DEPENDS="libc6 (>= 2.34), libpcsclite1 (>= 1.0.0)"
mkdir -p "$STAGE/src/debian"
printf 'Source: myna-pkcs11\n\nPackage: myna-pkcs11\nArchitecture: any\n' >"$STAGE/src/debian/control"
if shl=$(cd "$STAGE/src" && dpkg-shlibdeps -O \
    "$ROOTFS/usr/lib/$DEB_HOST_MULTIARCH/pkcs11/libmyna-pkcs11.so" "$ROOTFS/usr/bin/myna-pkcs11" 2>/dev/null); then
  d=$(printf '%s\n' "$shl" | sed -n 's/^shlibs:Depends=//p')
  [ -n "$d" ] && DEPENDS=$d
fi

# 3. Control file and checksums.
mkdir -p "$ROOTFS/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$ROOTFS" | cut -f1)
cat >"$ROOTFS/DEBIAN/control" <<EOF
Package: myna-pkcs11
Version: $VERSION
Architecture: $DEB_ARCH
Maintainer: $MAINTAINER
Installed-Size: $SIZE
Depends: $DEPENDS
Recommends: pcscd, libnss3-tools
Suggests: p11-kit-modules, opensc
Section: utils
Priority: optional
Description: PKCS#11 module for the Japanese My Number Card (JPKI)
 Makes the two keys of the My Number Card (マイナンバーカード) available to
 programs that use PKCS#11: pkcs11-tool, OpenSSL, Firefox and Chromium (NSS),
 GnuTLS, OpenSSH and Java. Each card reader shows two tokens: the
 user-authentication key (4-digit PIN) and the digital-signature key
 (6-16 character password).
 .
 The package registers the module with p11-kit and installs the myna-pkcs11
 command, which shows the card's PIN tries left, certificate expiry and
 renewal dates, changes PINs safely, and adds the module to Firefox,
 Thunderbird, Chromium and LibreOffice (myna-pkcs11 register, which needs
 modutil from libnss3-tools). A PC/SC service (pcscd) and a card reader are
 needed.
EOF
(cd "$ROOTFS" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$ROOTFS/DEBIAN/md5sums"
chmod 0644 "$ROOTFS/DEBIAN/control" "$ROOTFS/DEBIAN/md5sums"

# 4. The package (root-owned files without needing root).
mkdir -p "$(dirname "$OUT")"
dpkg-deb --root-owner-group -Zxz --build "$ROOTFS" "$OUT" >/dev/null
echo "built $OUT"
dpkg-deb --info "$OUT" | sed -n '/Package:/,/Description:/p'
dpkg-deb --contents "$OUT" | awk '{print $1, $6}'
