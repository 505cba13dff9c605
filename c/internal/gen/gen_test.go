package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGeneratedFilesUpToDate fails when the committed files in c/ differ
// from what the table produces: run `go generate ./c` and commit.
func TestGeneratedFilesUpToDate(t *testing.T) {
	for name, want := range render() {
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		require.NoError(t, err, "run `go generate ./c`")
		assert.Equal(t, string(want), string(got), "%s is stale: run `go generate ./c` and commit", name)
	}
}

func TestTableShape(t *testing.T) {
	assert.Len(t, functions240, 68, "PKCS#11 2.40 has 68 functions")
	assert.Len(t, functions30, 24, "PKCS#11 3.0 adds 24 functions")
	assert.Equal(t, "C_WaitForSlotEvent", functions240[len(functions240)-1].Name)
	assert.Equal(t, "C_MessageVerifyFinal", functions30[len(functions30)-1].Name)

	seen := map[string]bool{}
	hand := 0
	for _, f := range all() {
		assert.True(t, strings.HasPrefix(f.Name, "C_"), f.Name)
		assert.False(t, seen[f.Name], "duplicate %s", f.Name)
		seen[f.Name] = true
		if f.Impl == handWritten {
			hand++
		}
		for _, n := range paramNames(f.Params) {
			assert.NotEmpty(t, n, f.Name)
		}
	}
	assert.Equal(t, 3, hand, "glue.c writes C_GetFunctionList, C_GetInterfaceList, C_GetInterface")
}

func TestParamNames(t *testing.T) {
	assert.Equal(t, []string{"hSession", "pPin", "ulPinLen"},
		paramNames("CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen"))
	assert.Equal(t, "goSignInit", goName("C_SignInit"))
}
