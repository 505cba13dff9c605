package abi

import (
	"bytes"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlotListTwoCallProtocol(t *testing.T) {
	start(t)
	want, err := ctx.GetSlotList(true)
	require.NoError(t, err)
	require.Len(t, want, 2, "one reader, two slots (authentication and signature)")

	rv, n, _ := RawGetSlotList(true, -1, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, uint(2), n, "NULL list reports the count")

	rv, n, _ = RawGetSlotList(true, 1, false)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	assert.Equal(t, uint(2), n, "a short list reports the count needed")

	rv, n, got := RawGetSlotList(true, 8, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, uint(2), n)
	assert.Equal(t, want, got)

	all, err := ctx.GetSlotList(false)
	require.NoError(t, err)
	assert.Equal(t, want, all, "every slot has a token")

	for _, s := range want {
		si, err := ctx.GetSlotInfo(s)
		require.NoError(t, err)
		assert.NotZero(t, si.Flags&pkcs11.CKF_TOKEN_PRESENT, "slot %d", s)
		assert.NotZero(t, si.Flags&pkcs11.CKF_REMOVABLE_DEVICE, "slot %d", s)
		assert.NotEmpty(t, si.SlotDescription)
	}
	_, err = ctx.GetSlotInfo(9999)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_SLOT_ID_INVALID), err)
}

func TestTokenInfoFlagsAndLabels(t *testing.T) {
	start(t)
	auth, sign := slots(t)
	a, err := ctx.GetTokenInfo(auth)
	require.NoError(t, err)
	s, err := ctx.GetTokenInfo(sign)
	require.NoError(t, err)

	assert.Equal(t, "My Number Card (Auth)", a.Label)
	assert.Equal(t, "My Number Card (Sign)", s.Label)
	assert.Equal(t, []uint{4, 4}, []uint{a.MinPinLen, a.MaxPinLen})
	assert.Equal(t, []uint{6, 16}, []uint{s.MinPinLen, s.MaxPinLen})
	for name, ti := range map[string]pkcs11.TokenInfo{"auth": a, "sign": s} {
		for _, flag := range []uint{pkcs11.CKF_TOKEN_INITIALIZED, pkcs11.CKF_LOGIN_REQUIRED, pkcs11.CKF_USER_PIN_INITIALIZED, pkcs11.CKF_WRITE_PROTECTED} {
			assert.NotZero(t, ti.Flags&flag, "%s token lacks %v", name, ck.FlagNames(flag, ck.TokenFlags))
		}
		for _, flag := range []uint{pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH, pkcs11.CKF_RNG, pkcs11.CKF_USER_PIN_COUNT_LOW, pkcs11.CKF_USER_PIN_LOCKED} {
			assert.Zero(t, ti.Flags&flag, "fresh %s token has %v", name, ck.FlagNames(flag, ck.TokenFlags))
		}
		assert.NotEmpty(t, ti.SerialNumber, name)
	}

	// Raw fields: blank-padded to the field width, no NUL.
	for _, slot := range []uint{auth, sign} {
		rv, raw := RawGetTokenInfo(slot, false)
		require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
		for name, f := range map[string][]byte{"label": raw.Label, "manufacturerID": raw.ManufacturerID, "model": raw.Model, "serialNumber": raw.SerialNumber} {
			assert.NotContains(t, string(f), "\x00", "%s of slot %d", name, slot)
		}
		assert.Equal(t, byte(' '), raw.Label[31], "label is blank-padded")
	}
}

func TestMechanismListTwoCallAndInfo(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	rv, n, _ := RawGetMechanismList(auth, -1, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	require.NotZero(t, n)
	rv, n2, _ := RawGetMechanismList(auth, int(n)-1, false)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	assert.Equal(t, n, n2)
	rv, _, list := RawGetMechanismList(auth, int(n), false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Contains(t, list, uint(pkcs11.CKM_RSA_PKCS))
	assert.Contains(t, list, uint(pkcs11.CKM_SHA256_RSA_PKCS))

	mi, err := ctx.GetMechanismInfo(auth, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)})
	require.NoError(t, err)
	assert.Equal(t, uint(2048), mi.MinKeySize)
	assert.Equal(t, uint(2048), mi.MaxKeySize)
	assert.NotZero(t, mi.Flags&pkcs11.CKF_SIGN)
	assert.Zero(t, mi.Flags&pkcs11.CKF_DECRYPT, "the card cannot decrypt")
	_, err = ctx.GetMechanismInfo(auth, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, nil)})
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID), err)
}

func serial(t *testing.T) string {
	t.Helper()
	auth, _ := slots(t)
	ti, err := ctx.GetTokenInfo(auth)
	require.NoError(t, err)
	return ti.SerialNumber
}

func TestSerialStableAcrossFinalizeInitialize(t *testing.T) {
	freshCard(t, cardA)
	require.NoError(t, ctx.Initialize())
	first := serial(t)
	require.NoError(t, ctx.Finalize())
	initialize(t)
	assert.Equal(t, first, serial(t))
}

func TestSerialDiffersBetweenCards(t *testing.T) {
	freshCard(t, cardA)
	require.NoError(t, ctx.Initialize())
	a := serial(t)
	require.NoError(t, ctx.Finalize())
	freshCard(t, cardB)
	initialize(t)
	b := serial(t)
	assert.NotEqual(t, a, b, "two cards must have two serial numbers")
	assert.False(t, bytes.Equal([]byte(a), []byte(b)))
}

func TestWaitForSlotEventDontBlock(t *testing.T) {
	start(t)
	var rv uint
	for i := 0; i < 10; i++ { // drain the insertion events of the start
		if rv, _ = RawWaitForSlotEvent(pkcs11.CKF_DONT_BLOCK, false, false); rv != pkcs11.CKR_OK {
			break
		}
	}
	assert.Equal(t, rvName(pkcs11.CKR_NO_EVENT), rvName(rv))
}

func TestFinalizeWakesBlockedWaitForSlotEvent(t *testing.T) {
	freshCard(t, cardA)
	require.NoError(t, ctx.Initialize())
	for i := 0; i < 10; i++ { // drain the insertion events
		if rv, _ := RawWaitForSlotEvent(pkcs11.CKF_DONT_BLOCK, false, false); rv != pkcs11.CKR_OK {
			break
		}
	}
	done := make(chan uint)
	started := make(chan struct{})
	go func() {
		close(started)
		rv, _ := RawWaitForSlotEvent(0, false, false) // blocks in Go, called from C
		done <- rv
	}()
	<-started
	// Give the waiter time to block; the outcome is the same if it has not
	// yet (C_WaitForSlotEvent after C_Finalize also says NOT_INITIALIZED).
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, ctx.Finalize())
	// If C_Finalize did not wake the waiter this blocks until go test's timeout.
	assert.Equal(t, rvName(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), rvName(<-done))
}
