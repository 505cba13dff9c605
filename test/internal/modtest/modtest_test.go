package modtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests build the module as `make` does: Build's flags are the
// Makefile's GOFLAGS_SO and LDFLAGS_SO.
func TestBuildMatchesMakefile(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	value := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(.*)$`).FindSubmatch(mk)
		require.NotNil(t, m, "Makefile defines %s", name)
		return strings.TrimSpace(string(m[1]))
	}
	assert.Equal(t, strings.Join(buildFlags, " "), value("GOFLAGS_SO"))
	assert.Equal(t, strings.Join(stripFlags, " ")+" -extldflags=-Wl,--version-script=$(CURDIR)/c/exports.map", value("LDFLAGS_SO"))
}
