package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck/cheader"
)

// The flag names the call trace prints have the bit p11-kit's header
// (libp11-kit-dev, installed by test/install-deps.sh) gives them, so a
// flag is never printed under another flag's name.
func TestTraceFlagTablesMatchHeader(t *testing.T) {
	vals, err := cheader.Parse("/usr/include/p11-kit-1/p11-kit/pkcs11.h")
	require.NoError(t, err, "the header is missing: run test/install-deps.sh")
	vals["CKF_ERROR_STATE"] = 0x01000000 // PKCS#11 3.0 §4.3.1, newer than p11-kit 0.24's header
	n := 0
	for _, table := range [][]ck.Flag{initFlags, sessionFlags, waitFlags, slotFlags, tokenFlags, mechFlags} {
		for _, f := range table {
			v, ok := vals[f.Name]
			if assert.True(t, ok, "%s is not in the header", f.Name) {
				assert.Equal(t, uint64(f.Bit), v, f.Name)
				n++
			}
		}
	}
	assert.Greater(t, n, 30)
}
