package cabi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layoutProgram prints the size and field offsets of every PKCS#11
// structure the module shares with its hosts, the offset of every
// function-list entry by name, and the constants c/pkcs11t.h defines. The
// same program is compiled against the project's header and against
// independent system headers, and the outputs must agree.
func layoutProgram(include string, names []string, with30 bool) string {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n#include <stddef.h>\n" + include + "\n")
	b.WriteString(`#define S(t) printf(#t " %zu\n", sizeof(t));
#define O(t, f) printf(#t "." #f " %zu\n", offsetof(t, f));
#define V(c) printf(#c " 0x%lx\n", (unsigned long)(c));
int main(void)
{
S(CK_VERSION) S(CK_INFO) O(CK_INFO, manufacturerID) O(CK_INFO, flags) O(CK_INFO, libraryDescription) O(CK_INFO, libraryVersion)
S(CK_SLOT_INFO) O(CK_SLOT_INFO, manufacturerID) O(CK_SLOT_INFO, flags) O(CK_SLOT_INFO, hardwareVersion) O(CK_SLOT_INFO, firmwareVersion)
S(CK_TOKEN_INFO) O(CK_TOKEN_INFO, manufacturerID) O(CK_TOKEN_INFO, model) O(CK_TOKEN_INFO, serialNumber) O(CK_TOKEN_INFO, flags)
O(CK_TOKEN_INFO, ulMaxPinLen) O(CK_TOKEN_INFO, ulMinPinLen) O(CK_TOKEN_INFO, ulFreePrivateMemory) O(CK_TOKEN_INFO, hardwareVersion)
O(CK_TOKEN_INFO, firmwareVersion) O(CK_TOKEN_INFO, utcTime)
S(CK_SESSION_INFO) O(CK_SESSION_INFO, state) O(CK_SESSION_INFO, flags) O(CK_SESSION_INFO, ulDeviceError)
S(CK_ATTRIBUTE) O(CK_ATTRIBUTE, pValue) O(CK_ATTRIBUTE, ulValueLen) S(CK_DATE) O(CK_DATE, month) O(CK_DATE, day)
S(CK_MECHANISM) O(CK_MECHANISM, pParameter) O(CK_MECHANISM, ulParameterLen)
S(CK_MECHANISM_INFO) O(CK_MECHANISM_INFO, ulMaxKeySize) O(CK_MECHANISM_INFO, flags)
S(CK_C_INITIALIZE_ARGS) O(CK_C_INITIALIZE_ARGS, DestroyMutex) O(CK_C_INITIALIZE_ARGS, UnlockMutex) O(CK_C_INITIALIZE_ARGS, flags) O(CK_C_INITIALIZE_ARGS, pReserved)
S(CK_ULONG) S(CK_FLAGS) S(CK_RV) S(CK_BBOOL) S(CK_UTF8CHAR)
V(CKF_LIBRARY_CANT_CREATE_OS_THREADS) V(CKF_OS_LOCKING_OK) V(CKF_DONT_BLOCK) V(CKF_RW_SESSION) V(CKF_SERIAL_SESSION)
V(CKR_OK) V(CKR_HOST_MEMORY) V(CKR_GENERAL_ERROR) V(CKR_FUNCTION_FAILED) V(CKR_ARGUMENTS_BAD) V(CKR_CANT_LOCK)
V(CKR_FUNCTION_NOT_PARALLEL) V(CKR_FUNCTION_NOT_SUPPORTED) V(CKR_BUFFER_TOO_SMALL)
V(CKR_CRYPTOKI_NOT_INITIALIZED) V(CKR_CRYPTOKI_ALREADY_INITIALIZED) V(CK_UNAVAILABLE_INFORMATION)
S(CK_FUNCTION_LIST)
`)
	for _, n := range names[:68] {
		fmt.Fprintf(&b, "O(CK_FUNCTION_LIST, %s)\n", n)
	}
	if with30 {
		b.WriteString("S(CK_INTERFACE) O(CK_INTERFACE, pFunctionList) O(CK_INTERFACE, flags) V(CKF_INTERFACE_FORK_SAFE)\nS(CK_FUNCTION_LIST_3_0)\n")
		for _, n := range names {
			fmt.Fprintf(&b, "O(CK_FUNCTION_LIST_3_0, %s)\n", n)
		}
	}
	b.WriteString("return 0;\n}\n")
	return b.String()
}

// compileAndRun builds a C program with gcc and returns its output.
func compileAndRun(t *testing.T, src string, cflags ...string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "layout.c")
	exe := filepath.Join(dir, "layout")
	require.NoError(t, os.WriteFile(c, []byte(src), 0o644))
	args := append(append([]string{"-Wall", "-o", exe}, cflags...), c)
	out, err := exec.Command("gcc", args...).CombinedOutput()
	require.NoError(t, err, "gcc: %s", out)
	out, err = exec.Command(exe).Output()
	require.NoError(t, err)
	return string(out)
}

func functionNames(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "c", "symbols.txt"))
	require.NoError(t, err)
	names := strings.Fields(string(b))
	require.Len(t, names, 92)
	return names
}

// The project's header must lay out structures, function lists and
// constants exactly as other implementations of the specification do.
// These system headers are only compiled against at test time.
func TestHeaderLayoutMatchesSystemHeaders(t *testing.T) {
	names := functionNames(t)
	ourInclude := "#include \"pkcs11t.h\"\n#include \"pkcs11f_gen.h\""
	ourFlags := []string{"-I", filepath.Join(root, "c")}
	const platform = `#define CK_PTR *
#define CK_DECLARE_FUNCTION(rv, name) rv name
#define CK_DECLARE_FUNCTION_POINTER(rv, name) rv (* name)
#define CK_CALLBACK_FUNCTION(rv, name) rv (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif`
	tests := []struct {
		name, header, include string
		cflags                []string
		with30                bool
		// skip drops lines of a structure the header deliberately changes.
		skip string
	}{
		{"p11-kit 2.40 header", "/usr/include/p11-kit-1/p11-kit/pkcs11.h", "#include <p11-kit/pkcs11.h>", []string{"-I", "/usr/include/p11-kit-1"}, false, ""},
		{"NSS 3.0 header", "/usr/include/nss/pkcs11.h", platform + "\n#include <pkcs11.h>", []string{"-I", "/usr/include/nss", "-I", "/usr/include/nspr"}, true,
			// NSS inserts its own LibraryParameters before pReserved.
			"CK_C_INITIALIZE_ARGS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.header); err != nil {
				t.Fatalf("%s is missing: run test/install-deps.sh (as root), which installs it (libp11-kit-dev, libnss3-dev, libnspr4-dev)", tc.header)
			}
			theirs := compileAndRun(t, layoutProgram(tc.include, names, tc.with30), tc.cflags...)
			ours := compileAndRun(t, layoutProgram(ourInclude, names, tc.with30), ourFlags...)
			if tc.skip != "" {
				theirs, ours = dropLines(theirs, tc.skip), dropLines(ours, tc.skip)
			}
			assert.Equal(t, theirs, ours)
			assert.Greater(t, strings.Count(ours, "\n"), 100)
		})
	}
}

// dropLines removes the lines starting with prefix.
func dropLines(s, prefix string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
