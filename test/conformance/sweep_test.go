//go:build amd64

package conformance

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

// The sweeps call every entry of the 3.0 function list (Entry): every
// argument zero (NULL pointers) but the first.

// names are the 3.0 function list's entries in order: c/symbols.txt
// (test/cabi checks that the tables follow it).
var names []string

// firstSweep is what sweepUninitialised saw before the process's first
// C_Initialize.
var firstSweep map[string][2]uint

func init() {
	beforeFirstInitialize = func() error {
		root, err := modtest.RepoRoot()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(root, "c", "symbols.txt"))
		if err != nil {
			return err
		}
		if names = strings.Fields(string(b)); len(names) != Entries {
			return fmt.Errorf("c/symbols.txt names %d functions, the 3.0 list has %d", len(names), Entries)
		}
		firstSweep = sweepUninitialised()
		return nil
	}
}

// notImplemented reports the functions the module answers with
// CKR_FUNCTION_NOT_SUPPORTED in C, whatever the arguments and state.
func notImplemented(n string) bool {
	switch n {
	case "C_GetOperationState", "C_SetOperationState", "C_EncryptInit", "C_Encrypt", "C_EncryptUpdate",
		"C_EncryptFinal", "C_DecryptInit", "C_Decrypt", "C_DecryptUpdate", "C_DecryptFinal", "C_DigestKey",
		"C_SignRecoverInit", "C_SignRecover", "C_VerifyRecoverInit", "C_VerifyRecover",
		"C_DigestEncryptUpdate", "C_DecryptDigestUpdate", "C_SignEncryptUpdate", "C_DecryptVerifyUpdate",
		"C_GenerateKey", "C_GenerateKeyPair", "C_WrapKey", "C_UnwrapKey", "C_DeriveKey":
		return true
	}
	return strings.Contains(n, "Message")
}

// withoutInitialize are the functions that work before C_Initialize
// (v2.40 §5.4; 3.0 §5.4 for the interface functions).
var withoutInitialize = map[string]bool{"C_Initialize": true, "C_GetFunctionList": true, "C_GetInterfaceList": true, "C_GetInterface": true}

// sweepUninitialised calls every function but those of withoutInitialize
// with all arguments zero and with a first argument 1 (a plausible
// handle), and returns the two answers by name.
func sweepUninitialised() map[string][2]uint {
	got := map[string][2]uint{}
	for i, n := range names {
		if !withoutInitialize[n] {
			got[n] = [2]uint{Entry(i, 0), Entry(i, 1)}
		}
	}
	return got
}

// Uninitialised, every function but the four of withoutInitialize answers
// CKR_CRYPTOKI_NOT_INITIALIZED whatever its arguments (§5.1.6), the
// unimplemented ones CKR_FUNCTION_NOT_SUPPORTED and the legacy parallel
// functions CKR_FUNCTION_NOT_PARALLEL (§5.16): before the process's first
// C_Initialize and after C_Finalize.
func TestEveryFunctionUninitialised(t *testing.T) {
	check := func(t *testing.T, got map[string][2]uint) {
		require.Len(t, got, Entries-len(withoutInitialize))
		for _, n := range names {
			if withoutInitialize[n] {
				continue
			}
			want := uint(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
			switch {
			case notImplemented(n):
				want = ck.CKR_FUNCTION_NOT_SUPPORTED
			case n == "C_GetFunctionStatus" || n == "C_CancelFunction":
				want = ck.CKR_FUNCTION_NOT_PARALLEL
			}
			assert.Equal(t, ck.Name(want), ck.Name(got[n][0]), "%s (zero args)", n)
			assert.Equal(t, ck.Name(want), ck.Name(got[n][1]), "%s (handle 1)", n)
		}
	}
	t.Run("before the first C_Initialize", func(t *testing.T) { check(t, firstSweep) })
	t.Run("after C_Finalize", func(t *testing.T) {
		e := newEnv(t, tokens[0])
		e.enter(notInit)
		check(t, sweepUninitialised())
	})
}

// nullWants is each implemented function's answer to NULL pointers and
// zero arguments after a valid first argument (a slot, a read-only session
// of the auth token, or flags 0), called in this order in one session.
var nullWants = []struct {
	name string
	want uint
}{
	{"C_GetInfo", ck.CKR_ARGUMENTS_BAD},
	{"C_GetFunctionList", ck.CKR_ARGUMENTS_BAD},
	{"C_GetSlotList", ck.CKR_ARGUMENTS_BAD},
	{"C_GetSlotInfo", ck.CKR_ARGUMENTS_BAD},
	{"C_GetTokenInfo", ck.CKR_ARGUMENTS_BAD},
	{"C_GetMechanismList", ck.CKR_ARGUMENTS_BAD},
	{"C_GetMechanismInfo", ck.CKR_ARGUMENTS_BAD},
	{"C_InitToken", ck.CKR_ARGUMENTS_BAD},
	{"C_InitPIN", ck.CKR_FUNCTION_NOT_SUPPORTED}, // the card cannot set a PIN without the old one
	{"C_SetPIN", ck.CKR_SESSION_READ_ONLY},       // the session is read-only
	{"C_OpenSession", ck.CKR_ARGUMENTS_BAD},
	{"C_GetSessionInfo", ck.CKR_ARGUMENTS_BAD},
	{"C_Login", ck.CKR_USER_TYPE_INVALID}, // user type 0 is CKU_SO: the tokens have none
	{"C_CreateObject", ck.CKR_ARGUMENTS_BAD},
	{"C_CopyObject", ck.CKR_ARGUMENTS_BAD},
	{"C_DestroyObject", ck.CKR_OBJECT_HANDLE_INVALID},
	{"C_GetObjectSize", ck.CKR_ARGUMENTS_BAD},
	{"C_GetAttributeValue", ck.CKR_OBJECT_HANDLE_INVALID}, // object handle 0
	{"C_SetAttributeValue", ck.CKR_OBJECT_HANDLE_INVALID},
	{"C_FindObjectsInit", ck.CKR_OK}, // NULL template with count 0 is the empty template
	{"C_FindObjects", ck.CKR_ARGUMENTS_BAD},
	{"C_FindObjectsFinal", ck.CKR_OK},
	{"C_DigestInit", ck.CKR_ARGUMENTS_BAD},
	{"C_Digest", ck.CKR_ARGUMENTS_BAD}, // NULL pulDigestLen is checked first
	{"C_DigestUpdate", ck.CKR_OPERATION_NOT_INITIALIZED},
	{"C_DigestFinal", ck.CKR_ARGUMENTS_BAD},
	{"C_SignInit", ck.CKR_ARGUMENTS_BAD},
	{"C_Sign", ck.CKR_ARGUMENTS_BAD},
	{"C_SignUpdate", ck.CKR_OPERATION_NOT_INITIALIZED},
	{"C_SignFinal", ck.CKR_ARGUMENTS_BAD},
	{"C_VerifyInit", ck.CKR_ARGUMENTS_BAD},
	{"C_Verify", ck.CKR_OPERATION_NOT_INITIALIZED},
	{"C_VerifyUpdate", ck.CKR_OPERATION_NOT_INITIALIZED},
	{"C_VerifyFinal", ck.CKR_OPERATION_NOT_INITIALIZED},
	{"C_SeedRandom", ck.CKR_RANDOM_NO_RNG},
	{"C_GenerateRandom", ck.CKR_RANDOM_NO_RNG},
	{"C_GetFunctionStatus", ck.CKR_FUNCTION_NOT_PARALLEL},
	{"C_CancelFunction", ck.CKR_FUNCTION_NOT_PARALLEL},
	{"C_WaitForSlotEvent", ck.CKR_ARGUMENTS_BAD},
	{"C_GetInterfaceList", ck.CKR_ARGUMENTS_BAD},
	{"C_GetInterface", ck.CKR_ARGUMENTS_BAD},
	{"C_LoginUser", ck.CKR_USER_TYPE_INVALID},
	{"C_SessionCancel", ck.CKR_OK},
}

// firstArg is what a function's first argument is: "slot", "session",
// or "" (none, or flags) for the sweeps.
func firstArg(n string) string {
	switch n {
	case "C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList", "C_GetMechanismInfo", "C_InitToken",
		"C_OpenSession", "C_CloseAllSessions":
		return "slot"
	case "C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList", "C_GetSlotList",
		"C_GetInterfaceList", "C_GetInterface", "C_WaitForSlotEvent":
		return ""
	}
	return "session"
}

// Every implemented function refuses NULL pointers with its own code and
// every unimplemented one answers CKR_FUNCTION_NOT_SUPPORTED; the session
// still works afterwards.
func TestEveryFunctionWithNullPointers(t *testing.T) {
	e := newEnv(t, tokens[0])
	e.enter(roPublic)
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	for _, w := range nullWants {
		a0 := map[string]uint{"slot": e.slot, "session": e.s}[firstArg(w.name)]
		assert.Equal(t, ck.Name(w.want), ck.Name(Entry(index[w.name], a0)), "%s(valid, NULL...)", w.name)
	}
	for i, n := range names {
		if notImplemented(n) {
			assert.Equal(t, ck.Name(ck.CKR_FUNCTION_NOT_SUPPORTED), ck.Name(Entry(i, e.s)), "%s(session, NULL...)", n)
		}
	}
	// C_SessionCancel(0) in the sweep ended nothing; the session still works.
	info := e.m.Buf(infoSize, nil)
	e.ok(Call(FGetSessionInfo, U(e.s), info), "C_GetSessionInfo after the sweep")
	assert.Equal(t, e.slot, uint(binary.NativeEndian.Uint64(Read(info, 8))), "CK_SESSION_INFO.slotID")
}
