package cabi

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

// The shipped module holds none of the test-only simulator control
// (cardos/backend/simcontrol.go, build tag mynatest); the test library
// the fault tests load does.
func TestShippedModuleHasNoSimulatorControl(t *testing.T) {
	const marker = "controlledTransport" // a type of simcontrol.go, named in Go's symbol table
	b, err := os.ReadFile(lib)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(b, []byte(marker)), "%s contains the simulator control", lib)
	testLib, err := modtest.TestLibrary(t.TempDir())
	require.NoError(t, err)
	b, err = os.ReadFile(testLib)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(b, []byte(marker)), "the marker is in the test library %s (else this test proves nothing)", testLib)
}
