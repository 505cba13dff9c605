package ck

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck/cheader"
)

// Headers the name tables are checked against: the one the C layer is
// compiled with, and p11-kit's (libp11-kit-dev, installed by
// test/install-deps.sh), an independent copy of the spec's values.
// The C layer's header holds only the few names the C layer uses;
// p11-kit's holds nearly all of the tables.
var headers = []struct {
	path    string
	atLeast int // names of the tables it must define
}{
	{filepath.Join("..", "..", "c", "pkcs11t.h"), 10},
	{"/usr/include/p11-kit-1/p11-kit/pkcs11.h", 190},
}

// knownWrong lists values where a header disagrees with the OASIS
// PKCS#11 v2.40/3.0 headers, which the tables follow: p11-kit 0.24's
// pkcs11.h numbers these five return values 0x1C0-0x1C4; OASIS's
// pkcs11t.h has 0x1B5-0x1B9.
var knownWrong = map[string]map[string]bool{
	"pkcs11.h": {"CKR_EXCEEDED_MAX_ITERATIONS": true, "CKR_FIPS_SELF_TEST_FAILED": true,
		"CKR_LIBRARY_LOAD_FAILED": true, "CKR_PIN_TOO_WEAK": true, "CKR_PUBLIC_KEY_INVALID": true},
}

// inNoHeader lists the names neither header defines: PKCS#11 3.0
// additions p11-kit 0.24 predates, and CKA_SUBPRIME_BITS, which the
// headers spell CKA_SUB_PRIME_BITS (same value, 0x134). Their values
// were checked by hand against the OASIS 3.0 pkcs11t.h.
var inNoHeader = map[string]bool{
	"CKR_AEAD_DECRYPT_FAILED": true, "CKR_TOKEN_RESOURCE_EXCEEDED": true, "CKR_OPERATION_CANCEL_FAILED": true,
	"CKA_UNIQUE_ID": true, "CKA_PROFILE_ID": true, "CKA_SUBPRIME_BITS": true,
}

// Every entry of the rv, attribute and mechanism name tables has the
// value the headers give its name, and the C layer's header defines
// every return value the table names.
func TestNameTablesMatchHeaders(t *testing.T) {
	tables := map[string]map[uint]string{"CKR_": rvNames, "CKA_": attrNames, "CKM_": mechNames}
	for _, hd := range headers {
		h := hd.path
		t.Run(filepath.Base(h), func(t *testing.T) {
			vals, err := cheader.Parse(h)
			require.NoError(t, err, "the header is missing: run test/install-deps.sh")
			checked := 0
			for prefix, table := range tables {
				for v, name := range table {
					require.True(t, strings.HasPrefix(name, prefix), name)
					hv, ok := vals[name]
					if !ok {
						continue // a 3.0 name an older header lacks
					}
					if knownWrong[filepath.Base(h)][name] {
						assert.NotEqual(t, uint64(v), hv, "%s: %s is right in %s now: drop it from knownWrong", name, h, h)
						continue
					}
					checked++
					assert.Equal(t, uint64(v), hv, "%s in %s", name, h)
				}
			}
			assert.GreaterOrEqual(t, checked, hd.atLeast, "names checked against %s", h)
		})
	}
	found := map[string]bool{}
	for _, hd := range headers {
		vals, err := cheader.Parse(hd.path)
		require.NoError(t, err)
		for n := range vals {
			found[n] = true
		}
	}
	for _, table := range tables {
		for _, name := range table {
			assert.True(t, found[name] != inNoHeader[name], "%s: in a header %v, listed in inNoHeader %v", name, found[name], inNoHeader[name])
		}
	}
	vals, err := cheader.Parse(headers[0].path)
	require.NoError(t, err)
	for name, v := range vals {
		if strings.HasPrefix(name, "CKR_") && name != "CKR_VENDOR_DEFINED" {
			assert.Equal(t, name, rvNames[uint(v)], "the C layer's header defines %s", name)
		}
	}
}
