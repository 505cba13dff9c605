#!/usr/bin/env bash
# Privacy suite: with MYNA_PKCS11_DEBUG at its most verbose, a full session on
# both tokens (wrong PIN, login, sign, SetPIN, logout, signature certificate
# read) leaves no PIN (raw, upper/lower case, hex) and no personal field of the
# signature certificate in the module's log; and before login no call reveals
# the signature certificate (empty-template search, every attribute of
# handles 0..1000 and of the handle it had during an earlier login).
# The tests are in test/faults/privacy_test.go (they load build/libmyna-pkcs11.so) and
# p11/cmd/myna-pkcs11/diagnose_test.go (a diagnose report made with every option).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export PATH="/usr/local/go/bin:$PATH"
export MYNA_PKCS11_LIB=${MYNA_PKCS11_LIB:-$PWD/build/libmyna-pkcs11.so}
if timeout 600 go test -count=1 -v -run 'TestLogHasNoPINsOrPersonalData|TestSignCertificateUnreadableBeforeLogin|TestDiagnoseReportIsPrivate' ./test/faults ./p11/cmd/myna-pkcs11 >/tmp/myna-privacy.$$.log 2>&1; then
  grep -E 'checked against|calls before login' /tmp/myna-privacy.$$.log | sed 's/^ */    /'
  echo "PASS privacy: log free of PINs and personal data; sign certificate hidden before login"
  rm -f /tmp/myna-privacy.$$.log
  exit 0
fi
echo "FAIL privacy"; tail -n 60 /tmp/myna-privacy.$$.log | sed 's/^/    /'
rm -f /tmp/myna-privacy.$$.log
exit 1
