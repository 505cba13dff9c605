// Package cabi checks the binary libmyna-pkcs11.so as C sees it: the
// symbols it exports and the libraries it needs (binutils), its function
// tables against those symbols and dlopen/dlclose/dlopen (harness.c,
// compiled with gcc here), the project's header against the system's
// PKCS#11 headers (layout_test.go), and that the shipped module lacks the
// test-only simulator control. What the module answers is
// test/conformance's and test/abi's; fork and C threads are test/hostile's.
package cabi

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

var (
	lib      string // module under test
	harness  string // compiled harness.c
	simState string // template simulator state
	root     string // repository root
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "myna-cabi-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if root, err = modtest.RepoRoot(); err == nil {
		lib, err = modtest.Library(dir)
	}
	if err == nil {
		harness = filepath.Join(dir, "harness")
		cmd := exec.Command("gcc", "-Wall", "-Wextra", "-Werror", "-O1",
			"-I", filepath.Join(root, "c"), "-I", filepath.Join(root, "test", "internal", "p11load"), "-o", harness, filepath.Join("testdata", "harness.c"), "-ldl")
		if b, cerr := cmd.CombinedOutput(); cerr != nil {
			err = fmt.Errorf("compiling harness.c: %v\n%s", cerr, b)
		}
	}
	if err == nil {
		simState = filepath.Join(dir, "card.json")
		err = modtest.NewSimState(simState, sim.Options{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// runHarness runs harness.c in a mode against a fresh copy of the simulated
// card and returns its "key value" lines.
func runHarness(t *testing.T, args ...string) map[string]string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, modtest.CopyFile(state, simState))
	cmd := exec.Command(harness, append([]string{lib}, args...)...)
	cmd.Env = append(os.Environ(), modtest.EnvSim+"="+state)
	out, err := cmd.CombinedOutput()
	t.Logf("harness %s:\n%s", strings.Join(args, " "), out)
	facts := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		facts[k] = v
	}
	require.NoError(t, err, "harness failed: %s", facts["RESULT"])
	require.Equal(t, "ok", facts["RESULT"])
	return facts
}

func TestDlopenDlcloseDlopen(t *testing.T) {
	f := runHarness(t, "reload")
	assert.Equal(t, "1", f["same_table"], "NODELETE: the second dlopen finds the same module")
}

func TestFunctionTablesMatchExportedSymbols(t *testing.T) {
	f := runHarness(t, "tables", filepath.Join(root, "c", "symbols.txt"))
	assert.Equal(t, "92", f["names"])
	assert.Equal(t, "2.40", f["version_2_40"])
	assert.Equal(t, "3.0", f["version_3_0"])
	assert.Equal(t, "0", f["mismatches"])
}

func TestExportsOnlyTheCryptokiFunctions(t *testing.T) {
	out, err := exec.Command("nm", "-D", "--defined-only", lib).Output()
	require.NoError(t, err)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		got = append(got, f[len(f)-1])
	}
	want, err := os.ReadFile(filepath.Join(root, "c", "symbols.txt"))
	require.NoError(t, err)
	wantNames := strings.Fields(string(want))
	sort.Strings(got)
	sort.Strings(wantNames)
	assert.Len(t, got, 92)
	assert.Equal(t, wantNames, got, "the module must export exactly the 92 PKCS#11 3.0 C_* functions")
}

func TestModuleIsNodeleteWithExpectedDependencies(t *testing.T) {
	out, err := exec.Command("readelf", "-d", lib).Output()
	require.NoError(t, err)
	s := string(out)
	assert.Contains(t, s, "NODELETE", "dlclose must not unload a Go runtime")
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "(NEEDED)") {
			assert.Regexp(t, `\[(libc\.so\.6|libpcsclite\.so\.1)\]`, line, "unexpected dependency")
		}
	}
}
