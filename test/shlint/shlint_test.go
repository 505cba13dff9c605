package shlint

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		src  string
		want bool // an early-closing reader is reported
	}{
		{`"$SIM_BIN" --status | grep -q 'auth PIN'`, true},
		{`if opensc-tool -l 2>/dev/null | grep -Eq "^[0-9]+ Yes"; then`, true},
		{`grep -F x f | grep -qE 'u,u,u'`, true},
		{`x=$(cmd | head -n 1)`, true},
		{`cmd | head`, true},
		{`cmd | grep -m1 'Subject:'`, true},
		{`cmd | grep --quiet x`, true},
		{`cmd | grep -l x`, true},
		{`cmd | grep x >/dev/null`, true},
		{`cmd | sed -n '/x/{p;q}'`, true},
		{`cmd | sed 5q`, true},
		{`cmd | awk '/x/ {print; exit}'`, true},
		{"cmd \\\n  | grep -q x", true},
		{`out=$(cmd); grep -q x <<<"$out"`, false},
		{`grep -q x "$file"`, false},
		{`cmd | grep x | sed -n 1p`, false},
		{`cmd | grep -c x`, false},
		{`cmd || grep -q x f`, false},
		{`grep -Eq 'a|head' f`, false},
		{`# cmd | grep -q x`, false},
		{`cmd | grep -q x # shlint:allow (kept on purpose)`, false},
		{`cmd | sed -n 's/^q//p'`, false},
	}
	for _, tc := range tests {
		got := Check(tc.src)
		assert.Equal(t, tc.want, len(got) > 0, "%q: %v", tc.src, got)
	}
	f := Check("a\nb \\\n | head -n1\n")
	require.Len(t, f, 1)
	assert.Equal(t, 2, f[0].Line, "line where the continued command starts")
}

// TestScripts checks every shell script under test/, .ci/ and build/.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	var scripts []string
	for _, dir := range []string{"test", ".ci", "build"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if isShell(p) {
				scripts = append(scripts, p)
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.Greater(t, len(scripts), 20, "shell scripts found under %s", root)
	for _, p := range scripts {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		for _, f := range Check(string(b)) {
			t.Errorf("%s:%d: pipe into a reader that may stop early (SIGPIPE under pipefail); capture the output first: %s", rel, f.Line, f.Text)
		}
	}
}

// isShell reports whether p is a shell script: a .sh file or one starting
// with a sh/bash #! line.
func isShell(p string) bool {
	if strings.HasSuffix(p, ".sh") {
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	first, _, _ := bytes.Cut(head[:n], []byte("\n"))
	return bytes.HasPrefix(first, []byte("#!")) && (bytes.Contains(first, []byte("bash")) || bytes.HasSuffix(first, []byte("/sh")))
}
