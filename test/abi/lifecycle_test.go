package abi

import (
	"bytes"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInitializeFinalizeCycles(t *testing.T) {
	freshCard(t, cardA)
	for i := 0; i < 5; i++ {
		require.NoError(t, ctx.Initialize(), "cycle %d", i)
		assert.Equal(t, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED), ctx.Initialize(), "double C_Initialize")
		_, err := ctx.GetInfo()
		assert.NoError(t, err)
		list, err := ctx.GetSlotList(true)
		assert.NoError(t, err)
		assert.Len(t, list, 2)
		require.NoError(t, ctx.Finalize(), "cycle %d", i)
		assert.Equal(t, pkcs11.Error(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), ctx.Finalize(), "double C_Finalize")
		_, err = ctx.GetInfo()
		assert.Equal(t, pkcs11.Error(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), err)
	}
}

func TestInitializeArguments(t *testing.T) {
	freshCard(t, cardA)
	const (
		cantThreads = pkcs11.CKF_LIBRARY_CANT_CREATE_OS_THREADS
		osLocking   = pkcs11.CKF_OS_LOCKING_OK
	)
	tests := []struct {
		name string
		args *InitArgs
		want uint
	}{
		{"NULL pInitArgs", nil, pkcs11.CKR_OK},
		{"zeroed args", &InitArgs{}, pkcs11.CKR_OK},
		{"OS locking", &InitArgs{Flags: osLocking}, pkcs11.CKR_OK},
		{"cannot create threads is ignored", &InitArgs{Flags: cantThreads}, pkcs11.CKR_OK},
		{"GnuTLS/p11-kit flags", &InitArgs{Flags: cantThreads | osLocking}, pkcs11.CKR_OK},
		{"NSS: 4 mutexes and OS locking", &InitArgs{Flags: cantThreads | osLocking, Mutexes: 4}, pkcs11.CKR_OK},
		{"4 mutexes without OS locking", &InitArgs{Mutexes: 4}, pkcs11.CKR_CANT_LOCK},
		{"1 of 4 mutexes", &InitArgs{Mutexes: 1, Flags: osLocking}, pkcs11.CKR_ARGUMENTS_BAD},
		{"3 of 4 mutexes", &InitArgs{Mutexes: 3, Flags: osLocking}, pkcs11.CKR_ARGUMENTS_BAD},
		{"pReserved set", &InitArgs{Reserved: true}, pkcs11.CKR_ARGUMENTS_BAD},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rv := RawInitialize(tc.args)
			assert.Equal(t, rvName(tc.want), rvName(rv))
			if rv == pkcs11.CKR_OK {
				assert.Equal(t, rvName(pkcs11.CKR_ARGUMENTS_BAD), rvName(RawFinalize(true)), "C_Finalize with pReserved")
				assert.Equal(t, rvName(pkcs11.CKR_OK), rvName(RawFinalize(false)))
			} else {
				assert.Equal(t, rvName(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), rvName(RawFinalize(false)), "a failed C_Initialize leaves the module uninitialised")
			}
		})
	}
}

func TestNotInitializedComesBeforeArgumentChecks(t *testing.T) {
	freshCard(t, cardA)
	rv, _ := RawGetInfo(true)
	assert.Equal(t, rvName(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), rvName(rv), "C_GetInfo(NULL)")
	rv, _, _ = RawGetSlotList(true, -1, true)
	assert.Equal(t, rvName(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), rvName(rv), "C_GetSlotList(NULL count)")
	rv, _ = RawOpenSession(1, pkcs11.CKF_SERIAL_SESSION, true)
	assert.Equal(t, rvName(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), rvName(rv), "C_OpenSession(NULL handle)")
	rv = RawFinalize(true)
	assert.Equal(t, rvName(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), rvName(rv), "C_Finalize(non-NULL)")
}

func TestGetInterface(t *testing.T) {
	v240, v30, v31 := [2]byte{2, 40}, [2]byte{3, 0}, [2]byte{3, 1}
	tests := []struct {
		name         string
		iface        string
		version      *[2]byte
		flags        uint
		nullPP       bool
		want         uint
		major, minor byte
	}{
		{"PKCS 11 any version", "PKCS 11", nil, 0, false, pkcs11.CKR_OK, 3, 0},
		{"any name any version", "", nil, 0, false, pkcs11.CKR_OK, 3, 0},
		{"PKCS 11 3.0", "PKCS 11", &v30, 0, false, pkcs11.CKR_OK, 3, 0},
		{"PKCS 11 2.40", "PKCS 11", &v240, 0, false, pkcs11.CKR_OK, 2, 40},
		{"PKCS 11 3.1 is not offered", "PKCS 11", &v31, 0, false, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
		{"fork-safe is refused (NSS falls back)", "PKCS 11", nil, 1 /* CKF_INTERFACE_FORK_SAFE */, false, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
		{"vendor interface", "Vendor NSS FIPS Interface", nil, 0, false, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
		{"NULL ppInterface", "PKCS 11", nil, 0, true, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rv, it := RawGetInterface(tc.iface, tc.version, tc.flags, tc.nullPP)
			require.Equal(t, rvName(tc.want), rvName(rv))
			if rv == pkcs11.CKR_OK {
				assert.Equal(t, []byte{tc.major, tc.minor}, []byte{it.Major, it.Minor})
				assert.Zero(t, it.Flags, "no interface claims fork safety")
			}
		})
	}
}

func TestGetInterfaceList(t *testing.T) {
	rv, n, _ := RawGetInterfaceList(true, 0, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, uint(2), n, "two interfaces: PKCS 11 3.0 and 2.40")

	rv, n, _ = RawGetInterfaceList(false, 1, false)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	assert.Equal(t, uint(2), n)

	rv, n, list := RawGetInterfaceList(false, 5, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	require.Equal(t, uint(2), n)
	assert.Equal(t, []Interface{
		{Name: "PKCS 11", Major: 3, Minor: 0},
		{Name: "PKCS 11", Major: 2, Minor: 40},
	}, list)

	rv, _, _ = RawGetInterfaceList(false, 5, true)
	assert.Equal(t, rvName(pkcs11.CKR_ARGUMENTS_BAD), rvName(rv))
}

func TestInfoIsBlankPadded(t *testing.T) {
	start(t)
	info, err := ctx.GetInfo()
	require.NoError(t, err)
	assert.NotEmpty(t, info.ManufacturerID)
	assert.NotEmpty(t, info.LibraryDescription)

	rv, raw := RawGetInfo(false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	for name, field := range map[string][]byte{"manufacturerID": raw.ManufacturerID, "libraryDescription": raw.LibraryDescription} {
		assert.NotContains(t, string(field), "\x00", "%s must be blank-padded, not NUL-terminated", name)
		assert.Equal(t, byte(' '), field[len(field)-1], "%s ends in blanks", name)
	}
	assert.Equal(t, info.ManufacturerID, string(bytes.TrimRight(raw.ManufacturerID, " ")))
}

func TestNullPointersAreArgumentsBad(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	sh := uint(s)
	objs := find(t, s, classOf(pkcs11.CKO_CERTIFICATE))
	require.NotEmpty(t, objs)
	key := objs[0] // any object handle will do for argument checks
	tests := map[string]func() uint{
		"C_GetInfo":                 func() uint { rv, _ := RawGetInfo(true); return rv },
		"C_GetSlotList count":       func() uint { rv, _, _ := RawGetSlotList(true, -1, true); return rv },
		"C_GetSlotInfo":             func() uint { return RawGetSlotInfoNull(auth) },
		"C_GetTokenInfo":            func() uint { rv, _ := RawGetTokenInfo(auth, true); return rv },
		"C_GetMechanismList count":  func() uint { rv, _, _ := RawGetMechanismList(auth, -1, true); return rv },
		"C_OpenSession handle":      func() uint { rv, _ := RawOpenSession(auth, pkcs11.CKF_SERIAL_SESSION, true); return rv },
		"C_Login NULL pin with len": func() uint { return RawLogin(sh, pkcs11.CKU_USER, nil, 4) },
		"C_GetAttributeValue tmpl": func() uint {
			rv, _ := RawGetAttributeValue(sh, uint(key), []AttrIn{{Type: pkcs11.CKA_CLASS, BufLen: 8}}, true)
			return rv
		},
		"C_FindObjectsInit tmpl": func() uint { return RawFindObjectsInit(sh, nil, true, 1) },
		"C_FindObjectsInit value": func() uint {
			return RawFindObjectsInit(sh, []Attr{{Type: pkcs11.CKA_LABEL, NullWithLen: 5}}, false, -1)
		},
		"C_SignInit mechanism":       func() uint { return RawSignInit(sh, pkcs11.CKM_SHA256_RSA_PKCS, nil, 0, uint(key), true) },
		"C_SignInit param len":       func() uint { return RawSignInit(sh, pkcs11.CKM_SHA256_RSA_PKCS, nil, 8, uint(key), false) },
		"C_Sign signature len":       func() uint { rv, _, _ := RawOut(OpSign, sh, []byte("x"), true, 0, true); return rv },
		"C_SignFinal signature len":  func() uint { rv, _, _ := RawOut(OpSignFinal, sh, nil, true, 0, true); return rv },
		"C_Digest digest len":        func() uint { rv, _, _ := RawOut(OpDigest, sh, []byte("x"), true, 0, true); return rv },
		"C_WaitForSlotEvent slot":    func() uint { rv, _ := RawWaitForSlotEvent(pkcs11.CKF_DONT_BLOCK, true, false); return rv },
		"C_WaitForSlotEvent reserve": func() uint { rv, _ := RawWaitForSlotEvent(pkcs11.CKF_DONT_BLOCK, false, true); return rv },
		"C_GenerateRandom buffer":    func() uint { return RawGenerateRandom(sh, 16, true) },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, rvName(pkcs11.CKR_ARGUMENTS_BAD), rvName(call()))
		})
	}
	// The module still works after all that.
	_, err := ctx.GetSessionInfo(s)
	assert.NoError(t, err)
}

func TestUnsupportedFunctionsAnswerInC(t *testing.T) {
	start(t)
	for i, name := range Unsupported {
		want := uint(pkcs11.CKR_FUNCTION_NOT_SUPPORTED)
		if name == "C_GetFunctionStatus" || name == "C_CancelFunction" {
			want = pkcs11.CKR_FUNCTION_NOT_PARALLEL
		}
		assert.Equal(t, rvName(want), rvName(RawUnsupported(i)), name)
	}
}
