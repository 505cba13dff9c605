#!/usr/bin/env bash
# The Debian package: build it with `make deb`, install it with dpkg -i,
# check that p11-kit and pkcs11-tool (through p11-kit-proxy.so) find the
# module and the tokens of a fresh simulated card, that the installed
# companion command and man pages work, then dpkg --purge it and check that
# every file it installed is gone.
#
# The machine is left as it was, also on failure: the EXIT trap purges the
# package if this script installed it. The script refuses to run (SKIP)
# when myna-pkcs11 is already installed or one of the package's paths
# already exists (a `make install` into /usr), since installing over it
# could not be undone.
. "$(dirname "$0")/../lib.sh"

PKG=myna-pkcs11
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
PATHS=(
  "/usr/lib/$MULTIARCH/pkcs11/libmyna-pkcs11.so"
  /usr/share/p11-kit/modules/myna-pkcs11.module
  /usr/bin/myna-pkcs11
  /usr/share/man/man1/myna-pkcs11.1.gz
  /usr/share/man/man8/myna-pkcs11.8.gz
)

if [ "$(id -u)" -ne 0 ]; then skip "the Debian package" "needs root for dpkg -i"; finish; fi
# pkg_installed: true when dpkg has $PKG installed (status captured first).
pkg_installed() {
  local status
  status=$(dpkg-query -W -f '${Status}' "$PKG" 2>/dev/null) || return 1
  [ "$status" = 'install ok installed' ]
}
if pkg_installed; then
  skip "the Debian package" "$PKG is already installed on this machine; not touching it"; finish
fi
for p in "${PATHS[@]}"; do
  if [ -e "$p" ]; then skip "the Debian package" "$p already exists (make install?); not overwriting it"; finish; fi
done

INSTALLED=0
# shellcheck disable=SC2317  # called on exit (on_exit)
purge_if_installed() {
  if [ "$INSTALLED" = 1 ]; then
    dpkg --purge "$PKG" >"$T/purge-trap.log" 2>&1 || cat "$T/purge-trap.log" >&2
    INSTALLED=0
  fi
}
on_exit purge_if_installed

# --- build -----------------------------------------------------------------------
if run_to "$T/make-deb.log" make -C "$ROOT" --no-print-directory deb; then
  DEB=$(sed -n 's/^built //p' "$T/make-deb.log" | tail -n 1)
  [ "${DEB#/}" = "$DEB" ] && DEB="$ROOT/$DEB"
  pass "make deb built $(basename "$DEB")"
else
  fail "make deb" "$(tail -n 20 "$T/make-deb.log")"; finish
fi
dpkg-deb --field "$DEB" Package Version Architecture Depends Recommends Suggests >"$T/fields.log"
sed 's/^/    /' "$T/fields.log"
expect_in "Depends names libc6" "$T/fields.log" '^Depends: .*libc6'
expect_in "Recommends pcscd" "$T/fields.log" '^Recommends: .*pcscd'
expect_in "Recommends libnss3-tools (modutil, for myna-pkcs11 register)" "$T/fields.log" '^Recommends: .*libnss3-tools'
expect_in "Suggests p11-kit-modules" "$T/fields.log" '^Suggests: .*p11-kit-modules'

# --- install -----------------------------------------------------------------------
INSTALLED=1 # from here on, the trap purges whatever dpkg managed to install
if run_to "$T/install.log" dpkg -i "$DEB"; then
  pass "dpkg -i $(basename "$DEB")"
else
  fail "dpkg -i $(basename "$DEB")" "$(tail -n 20 "$T/install.log")"; finish
fi
dpkg -L "$PKG" >"$T/dpkg-L.log"
for p in "${PATHS[@]}"; do
  if grep -qxF "$p" "$T/dpkg-L.log" && [ -f "$p" ]; then
    pass "installed and listed by dpkg -L: $p"
  else
    fail "installed and listed by dpkg -L: $p" "$(cat "$T/dpkg-L.log")"
  fi
done
expect_in "the p11-kit registration points at the installed module" \
  /usr/share/p11-kit/modules/myna-pkcs11.module "^module: /usr/lib/$MULTIARCH/pkcs11/libmyna-pkcs11.so\$"

# --- a fresh simulated card for the installed module ----------------------------------
if ! run_to "$T/sim-init.log" "$SIM" --init --state "$T/card.state"; then
  fail "create a simulated card" "$(cat "$T/sim-init.log")"; finish
fi
export MYNA_PKCS11_SIM="$T/card.state"

run_to "$T/list-modules.log" p11-kit list-modules
p11kit_module "$T/list-modules.log" myna-pkcs11 >"$T/ours.log"
if [ -s "$T/ours.log" ]; then
  pass "p11-kit list-modules lists myna-pkcs11: $(head -n 1 "$T/ours.log")"
  sed 's/^/    /' "$T/ours.log"
else
  fail "p11-kit list-modules lists myna-pkcs11" "$(cat "$T/list-modules.log")"
fi
run_to "$T/proxy-L.log" pkcs11-tool --module "$P11KIT_PROXY" -L
for tok in "My Number Card (Auth)" "My Number Card (Sign)"; do
  re=$(printf '%s' "$tok" | sed 's/[()]/\\&/g')
  expect_in "p11-kit list-modules shows token '$tok'" "$T/ours.log" "^ +token: $re\$"
  expect_in "pkcs11-tool --module p11-kit-proxy.so -L shows token '$tok'" "$T/proxy-L.log" "token label +: $re *\$"
done

if check "installed /usr/bin/myna-pkcs11 status --json on the simulated card" /usr/bin/myna-pkcs11 status --json; then
  if python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); k=r["readers"][0]["card"]["keys"]; assert [x["pin"]["tries_left"] for x in k]==[3,5]' "$CHECK_LOG" 2>"$T/py.log"; then
    pass "installed command reads 3 and 5 tries left"
  else
    fail "installed command reads 3 and 5 tries left" "$(cat "$T/py.log")"
  fi
fi
if run_to "$T/man.log" man -w 8 myna-pkcs11 && grep -q "/usr/share/man/man8/myna-pkcs11.8.gz" "$T/man.log"; then
  pass "man -w 8 myna-pkcs11 finds the installed page"
else
  fail "man -w 8 myna-pkcs11 finds the installed page" "$(cat "$T/man.log")"
fi
if run_to "$T/man1.log" bash -c 'MANWIDTH=80 man --warnings 1 myna-pkcs11 2>&1 >/dev/null' && [ ! -s "$T/man1.log" ]; then
  pass "man 1 myna-pkcs11 renders without warnings"
else
  fail "man 1 myna-pkcs11 renders without warnings" "$(cat "$T/man1.log")"
fi

# --- purge ---------------------------------------------------------------------------
mapfile -t FILES < <(while read -r f; do [ -f "$f" ] && echo "$f"; done <"$T/dpkg-L.log")
info "files installed by the package: ${#FILES[@]}"
if run_to "$T/purge.log" dpkg --purge "$PKG"; then
  INSTALLED=0
  pass "dpkg --purge $PKG"
else
  fail "dpkg --purge $PKG" "$(tail -n 20 "$T/purge.log")"; finish
fi
if pkg_installed; then
  fail "dpkg no longer knows $PKG" "$(dpkg-query -W -f '${Status}' "$PKG")"
else
  pass "dpkg no longer knows $PKG"
fi
left=()
for f in "${FILES[@]}" "${PATHS[@]}"; do [ -e "$f" ] && left+=("$f"); done
if [ ${#left[@]} -eq 0 ] && [ ${#FILES[@]} -ge ${#PATHS[@]} ]; then
  pass "every file of the package is gone after purge (${#FILES[@]} checked)"
else
  fail "every file of the package is gone after purge" "left: ${left[*]}"
fi
run_to "$T/list-modules-after.log" p11-kit list-modules
p11kit_module "$T/list-modules-after.log" myna-pkcs11 >"$T/ours-after.log"
if [ -s "$T/ours-after.log" ]; then
  fail "p11-kit list-modules no longer lists myna-pkcs11" "$(head -n 4 "$T/ours-after.log")"
else
  pass "p11-kit list-modules no longer lists myna-pkcs11"
fi
finish
