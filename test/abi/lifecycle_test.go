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

func TestGetInterface(t *testing.T) {
	v240, v30, v31 := [2]byte{2, 40}, [2]byte{3, 0}, [2]byte{3, 1}
	tests := []struct {
		name         string
		iface        string
		version      *[2]byte
		flags        uint
		want         uint
		major, minor byte
	}{
		{"PKCS 11 any version", "PKCS 11", nil, 0, pkcs11.CKR_OK, 3, 0},
		{"any name any version", "", nil, 0, pkcs11.CKR_OK, 3, 0},
		{"PKCS 11 3.0", "PKCS 11", &v30, 0, pkcs11.CKR_OK, 3, 0},
		{"PKCS 11 2.40", "PKCS 11", &v240, 0, pkcs11.CKR_OK, 2, 40},
		{"PKCS 11 3.1 is not offered", "PKCS 11", &v31, 0, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
		{"fork-safe is refused (NSS falls back)", "PKCS 11", nil, 1 /* CKF_INTERFACE_FORK_SAFE */, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
		{"vendor interface", "Vendor NSS FIPS Interface", nil, 0, pkcs11.CKR_ARGUMENTS_BAD, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rv, it := RawGetInterface(tc.iface, tc.version, tc.flags)
			require.Equal(t, rvName(tc.want), rvName(rv))
			if rv == pkcs11.CKR_OK {
				assert.Equal(t, []byte{tc.major, tc.minor}, []byte{it.Major, it.Minor})
				assert.Zero(t, it.Flags, "no interface claims fork safety")
			}
		})
	}
}

func TestGetInterfaceList(t *testing.T) {
	rv, n, _ := RawGetInterfaceList(true, 0)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, uint(2), n, "two interfaces: PKCS 11 3.0 and 2.40")

	rv, n, _ = RawGetInterfaceList(false, 1)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	assert.Equal(t, uint(2), n)

	rv, n, list := RawGetInterfaceList(false, 5)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	require.Equal(t, uint(2), n)
	assert.Equal(t, []Interface{
		{Name: "PKCS 11", Major: 3, Minor: 0},
		{Name: "PKCS 11", Major: 2, Minor: 40},
	}, list)
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
