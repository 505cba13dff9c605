#!/usr/bin/env bash
# The real consumers again on Debian 13 (trixie): the suites of test/suites/
# run inside a Debian 13 root with trixie's own OpenSSL, NSS, OpenSC,
# pcsc-lite, OpenSSH, GnuTLS, p11-kit, Java, poppler and browsers, against
# the module built once on the host (a build linked against Debian 12's glibc
# 2.36 needs nothing newer than GLIBC_2.34 and runs on trixie's 2.41).
#
#   bash test/trixie.sh root        create the root, or re-create it when the
#                                   package list changed (else do nothing)
#   bash test/trixie.sh suites      print the suites test/run-all.sh runs in it
#   bash test/trixie.sh run SUITE   run test/suites/SUITE.sh (or test/trixie/SUITE.sh,
#                                   a test of Debian 13 only) inside the root
#   bash test/trixie.sh shell       an interactive shell set up like a run
#
# The root: `debootstrap --variant=minbase trixie` from deb.debian.org, then
# test/install-deps.sh --packages-only inside it (trixie has pkcs11-provider
# in main) plus EXTRA below, cached in $MYNA_TRIXIE_CACHE/trixie (default
# /var/cache/myna-pkcs11/trixie). Its stamp file holds the hash of the package
# list, the apt sources and ROOT_RECIPE: when any of them changes, `root`
# builds a new root beside the old one and swaps them. No service starts while
# it is built (policy-rc.d), and every package script runs in a private PID
# namespace, so nothing it starts outlives the build.
#
# A run: a private mount, network and PID namespace (its own loopback, its own
# pcscd on its own /run/pcscd, vpcd's port 35963 free, nothing outliving the
# suite); the cached root read-only under an overlay whose writes go to a
# tmpfs (the root is never changed by a suite, and runs side by side do not
# see each other's files); fresh /tmp and /run; the work tree bind-mounted at
# its own path (so build/libmyna-pkcs11.so, the simulator and MYNA_* paths are
# the same as on the host; a worktree's repository read-only); the host's Go toolchain (/usr/local/go, read-only)
# and module cache, with GOPROXY=off (no network inside), so the drivers the
# suites build (go build ./test/...) are built inside with trixie's gcc and
# libpcsclite; a Go build cache of its own kept in $MYNA_TRIXIE_CACHE.
# `pcscd` is /usr/sbin/pcscd --disable-polkit (a wrapper in /usr/local/sbin):
# trixie's pcscd asks polkit whether a client may connect and, with no polkit
# daemon in the namespace, refuses every one, root included ("Rejected
# unauthorized PC/SC client"; test/trixie/polkit.sh shows what a program then sees).
# Needs root (unshare, mount, chroot).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
WT=$PWD
export PATH="/usr/local/go/bin:$PATH"

CACHE=${MYNA_TRIXIE_CACHE:-/var/cache/myna-pkcs11}
RDIR=$CACHE/trixie
LOCK=$CACHE/trixie.lock
MIRROR=http://deb.debian.org/debian
SOURCES="deb $MIRROR trixie main
deb $MIRROR trixie-updates main
deb http://deb.debian.org/debian-security trixie-security main"
# Packages the root needs beyond test/install-deps.sh: Firefox ESR (on the
# host test/suites/firefox.sh installs it itself; inside there is no network).
EXTRA=(firefox-esr)
# Bump when the way the root is built changes, to force a rebuild.
ROOT_RECIPE=1
# The suites test/run-all.sh runs inside: the real consumers, and polkit
# (test/trixie/polkit.sh: pcscd's polkit check, new in Debian 13).
SUITES=(pkcs11-tool openssl openssl-provider nss gnutls openssh p11kit java pdfsig cms
  firefox chromium opensc-compare shared-card remote-card package companion git pykcs11 xmlsec
  gnupg pam polkit)

die() { echo "trixie: $*" >&2; exit 1; }

# stamp: what the root is built from (its hash decides whether to rebuild).
stamp() {
  printf 'recipe %s\n%s\n' "$ROOT_RECIPE" "$SOURCES"
  bash test/install-deps.sh --list
  printf '%s\n' "${EXTRA[@]}"
}

# root_current: true when the root exists and was built from what stamp prints now.
root_current() { [ -f "$RDIR/.myna-stamp" ] && [ "$(cat "$RDIR/.myna-stamp")" = "$(stamp | sha256sum)" ]; }

# versions: the versions of the stack under test, as installed in the root DIR.
versions() {
  # shellcheck disable=SC2016  # dpkg-query's format, not shell
  chroot "$1" dpkg-query -W -f '${Package} ${Version}\n' openssl libnss3 opensc pcscd openssh-client \
    gnutls-bin p11-kit libengine-pkcs11-openssl pkcs11-provider poppler-utils default-jdk-headless \
    firefox-esr chromium libc6 2>/dev/null | tr '\n' ';' | sed 's/;$//; s/;/; /g'
  echo
}

# build_root DIR: debootstrap trixie into DIR and install the packages.
build_root() {
  local d=$1 t0=$SECONDS
  rm -rf -- "$d"
  echo "trixie: debootstrap --variant=minbase trixie $d $MIRROR"
  debootstrap --variant=minbase trixie "$d" "$MIRROR" >"$CACHE/trixie-debootstrap.log" 2>&1 ||
    { tail -n 30 "$CACHE/trixie-debootstrap.log"; die "debootstrap failed (log: $CACHE/trixie-debootstrap.log)"; }
  echo "trixie: debootstrap took $((SECONDS - t0))s"
  printf '%s\n' "$SOURCES" >"$d/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$d/usr/sbin/policy-rc.d"; chmod 755 "$d/usr/sbin/policy-rc.d"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$d/etc/hosts"
  cp /etc/resolv.conf "$d/etc/resolv.conf"
  cp test/install-deps.sh "$d/root/install-deps.sh"
  t0=$SECONDS
  # shellcheck disable=SC2016  # expanded by the inner shell
  unshare -m -p -f bash -c '
    set -e
    d=$1; shift
    mount -t proc proc "$d/proc"
    mount --rbind /dev "$d/dev"
    mount --rbind /sys "$d/sys"
    chroot "$d" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive /bin/bash -ec "
        apt-get update -qq
        bash /root/install-deps.sh --packages-only
        apt-get install -y -qq --no-install-recommends $* >/dev/null
        apt-get clean
        rm -f /root/install-deps.sh"
  ' _ "$d" "${EXTRA[@]}" || die "installing the packages inside $d failed"
  echo "trixie: installing the packages took $((SECONDS - t0))s"
  mkdir -p "$d$WT"
  stamp | sha256sum >"$d/.myna-stamp"
}

cmd_root() {
  [ "$(id -u)" = 0 ] || die "needs root (debootstrap, unshare, chroot)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (test/install-deps.sh)"
  mkdir -p "$CACHE"
  exec 9>"$LOCK"
  flock -x 9
  local t0=$SECONDS
  if root_current; then
    echo "trixie: $RDIR is up to date (package list unchanged)"
  else
    if [ -d "$RDIR" ]; then echo "trixie: the package list changed: rebuilding $RDIR"; else echo "trixie: creating $RDIR"; fi
    build_root "$RDIR.new" || exit 1
    rm -rf -- "$RDIR"
    mv -- "$RDIR.new" "$RDIR"
    echo "trixie: created $RDIR in $((SECONDS - t0))s ($(du -sh "$RDIR" | cut -f1))"
  fi
  echo "trixie: $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' "$RDIR/etc/os-release"), Debian $(cat "$RDIR/etc/debian_version")"
  echo "trixie: $(versions "$RDIR")"
}

# enter SHELL-COMMAND: runs SHELL-COMMAND (bash) inside the root, in the work
# tree, in private namespaces (see the top of this file).
enter() {
  [ "$(id -u)" = 0 ] || die "needs root (unshare, mount, chroot)"
  mkdir -p "$CACHE"
  exec 9>"$LOCK"
  flock -s 9   # a rebuild (flock -x) waits for the runs, and they for it
  root_current || die "$RDIR is missing or out of date: run bash test/trixie.sh root"
  local modcache gocache=$CACHE/trixie-go-build mnt=$CACHE/trixie-mnt gitdir
  # A git worktree's repository lies outside it: mounted too (read-only), so
  # that git works in the tree inside as outside.
  gitdir=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || gitdir=""
  case "$gitdir" in "$WT"/*) gitdir="" ;; esac
  # The modules go.mod needs, fetched on the host (there is no network inside).
  go mod download || die "go mod download failed"
  modcache=$(go env GOMODCACHE)
  mkdir -p "$gocache" "$mnt"
  local env=(PATH=/usr/local/sbin:/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 USER=root
    "TERM=${TERM:-dumb}" GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=readonly "CI=${CI:-}")
  local v
  while IFS= read -r v; do env+=("$v=${!v}"); done < <(compgen -e | grep '^MYNA_')
  # shellcheck disable=SC2016  # expanded by the inner shell
  unshare -m -n -p -f bash -c '
    set -e
    r=$1 mnt=$2 wt=$3 modcache=$4 gocache=$5 gitdir=$6 cmd=$7; shift 7
    ip link set lo up
    mount -t tmpfs -o mode=755 myna-trixie "$mnt"
    mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
    m=$mnt/root
    mount -t overlay overlay -o "lowerdir=$r,upperdir=$mnt/upper,workdir=$mnt/work" "$m"
    mount -t proc proc "$m/proc"
    mount --rbind /dev "$m/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$m/dev/shm"
    mount -t sysfs -o ro sysfs "$m/sys"
    mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
    mount -t tmpfs -o mode=755 tmpfs "$m/run"
    mkdir -p "$m$wt" "$m/usr/local/go" "$m/root/go/pkg/mod" "$m/root/.cache/go-build"
    mount --bind "$wt" "$m$wt"
    if [ -n "$gitdir" ]; then mkdir -p "$m$gitdir"; mount --bind -o ro "$gitdir" "$m$gitdir"; fi
    mount --bind -o ro /usr/local/go "$m/usr/local/go"
    mount --bind "$modcache" "$m/root/go/pkg/mod"
    mount --bind "$gocache" "$m/root/.cache/go-build"
    printf "#!/bin/sh\nexec /usr/sbin/pcscd --disable-polkit \"\$@\"\n" >"$m/usr/local/sbin/pcscd"
    chmod 755 "$m/usr/local/sbin/pcscd"
    chroot "$m" /usr/bin/env -i "$@" /bin/bash -c "cd \"\$0\" && $cmd" "$wt"
  ' _ "$RDIR" "$mnt" "$WT" "$modcache" "$gocache" "$gitdir" "$1" "${env[@]}"
}

case "${1:-}" in
  root) cmd_root ;;
  suites) printf '%s\n' "${SUITES[@]}" ;;
  run)
    [ $# -eq 2 ] || die "usage: bash test/trixie.sh run SUITE (test/suites/SUITE.sh or test/trixie/SUITE.sh)"
    for f in "test/suites/$2.sh" "test/trixie/$2.sh"; do
      if [ -f "$f" ]; then enter "bash $f"; exit; fi
    done
    die "no test/suites/$2.sh or test/trixie/$2.sh" ;;
  shell) enter 'exec bash -i' ;;
  *) die "usage: bash test/trixie.sh root|suites|run SUITE|shell" ;;
esac
