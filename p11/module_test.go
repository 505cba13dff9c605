package p11

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestInitializeArgs(t *testing.T) {
	tests := []struct {
		name string
		args InitArgs
		want uint
	}{
		{"NULL args", InitArgs{}, ck.CKR_OK},
		{"empty args", InitArgs{Present: true}, ck.CKR_OK},
		{"reserved non-NULL", InitArgs{Present: true, ReservedNonNil: true}, ck.CKR_ARGUMENTS_BAD},
		{"some mutex callbacks", InitArgs{Present: true, MutexFuncs: 2, OSLockingOK: true}, ck.CKR_ARGUMENTS_BAD},
		{"all callbacks, no OS locking", InitArgs{Present: true, MutexFuncs: 4}, ck.CKR_CANT_LOCK},
		{"all callbacks with OS locking", InitArgs{Present: true, MutexFuncs: 4, OSLockingOK: true}, ck.CKR_OK},
		{"OS locking only", InitArgs{Present: true, OSLockingOK: true}, ck.CKR_OK},
		{"cannot create threads", InitArgs{Present: true, CantCreateOSThreads: true}, ck.CKR_OK},
		{"cannot create threads, OS locking", InitArgs{Present: true, CantCreateOSThreads: true, OSLockingOK: true}, ck.CKR_OK},
		{"cannot create threads, mutexes", InitArgs{Present: true, CantCreateOSThreads: true, OSLockingOK: true, MutexFuncs: 4}, ck.CKR_OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewModule(func() (cardos.Context, error) { return sim.NewContext(), nil }, mynacard.Attach)
			err := m.Initialize(tt.args)
			assert.Equal(t, ck.Name(tt.want), rv(err))
			if err == nil {
				assert.Equal(t, "CKR_CRYPTOKI_ALREADY_INITIALIZED", rv(m.Initialize(tt.args)))
				require.NoError(t, m.Finalize())
			}
			assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rv(m.Finalize()))
		})
	}
}

func TestNotInitialized(t *testing.T) {
	opened := false
	m := NewModule(func() (cardos.Context, error) { opened = true; return sim.NewContext(), nil }, mynacard.Attach)
	calls := map[string]func() error{
		"Initialized": m.Initialized,
		"Finalize":    m.Finalize,
		"Info":        func() error { _, err := m.Info(); return err },
		"SlotList":    func() error { _, err := m.SlotList(false); return err },
		"SlotInfo":    func() error { _, err := m.SlotInfo(0); return err },
		"TokenInfo":   func() error { _, err := m.TokenInfo(0); return err },
		"Wait":        func() error { _, err := m.WaitForSlotEvent(true); return err },
		"WaitBlock":   func() error { _, err := m.WaitForSlotEvent(false); return err },
		"MechList":    func() error { _, err := m.MechanismList(0); return err },
		"MechInfo":    func() error { _, err := m.MechanismInfo(0, ck.CKM_RSA_PKCS); return err },
		"InitToken":   func() error { return m.InitToken(0, nil, nil) },
		"InitPIN":     func() error { return m.InitPIN(1, nil) },
		"SetPIN":      func() error { return m.SetPIN(1, nil, nil) },
		"OpenSession": func() error { _, err := m.OpenSession(0, ck.CKF_SERIAL_SESSION); return err },
		"Close":       func() error { return m.CloseSession(1) },
		"CloseAll":    func() error { return m.CloseAllSessions(0) },
		"SessionInfo": func() error { _, err := m.SessionInfo(1); return err },
		"Login":       func() error { return m.Login(1, ck.CKU_USER, []byte("1234")) },
		"Logout":      func() error { return m.Logout(1) },
		"Find":        func() error { return m.FindObjectsInit(1, nil) },
		"GetAttr":     func() error { return m.GetAttributeValue(1, 1, nil) },
		"SignInit":    func() error { return m.SignInit(1, Mechanism{Type: ck.CKM_RSA_PKCS}, 1) },
		"Sign":        func() error { _, _, err := m.Sign(1, nil, OutBuf{Nil: true}); return err },
		"VerifyInit":  func() error { return m.VerifyInit(1, Mechanism{Type: ck.CKM_RSA_PKCS}, 1) },
		"DigestInit":  func() error { return m.DigestInit(1, Mechanism{Type: ck.CKM_SHA256}) },
		"Random":      func() error { return m.GenerateRandom(1) },
		"Create":      func() error { return m.CreateObject(1, nil) },
	}
	for name, call := range calls {
		assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rv(call()), name)
	}
	assert.False(t, opened, "no work before C_Initialize")
}

func TestInfo(t *testing.T) {
	f := newFixture(t)
	info, err := f.m.Info()
	require.NoError(t, err)
	assert.Equal(t, Version{3, 0}, info.CryptokiVersion)
	assert.Equal(t, "myna-pkcs11", info.ManufacturerID)
	assert.LessOrEqual(t, len(info.LibraryDescription), 32)
}

func TestFinalizeWakesWaitAndReinitialize(t *testing.T) {
	f := newFixture(t)
	// Consume the baseline: nothing changed since Initialize.
	_, err := f.m.WaitForSlotEvent(true)
	require.Equal(t, "CKR_NO_EVENT", rv(err))

	done := make(chan error)
	go func() {
		_, err := f.m.WaitForSlotEvent(false)
		done <- err
	}()
	require.NoError(t, f.m.Finalize())
	assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rv(<-done))

	require.NoError(t, f.m.Initialize(InitArgs{}))
	assert.Equal(t, 2, f.opens, "the back end is opened again")
	list, err := f.m.SlotList(true)
	require.NoError(t, err)
	assert.Len(t, list, 2)
}

func TestOpenerFailureShowsNoSlots(t *testing.T) {
	fail := true
	ctx := sim.NewContext()
	m := NewModule(func() (cardos.Context, error) {
		if fail {
			return nil, errors.New("no pcscd")
		}
		return ctx, nil
	}, mynacard.Attach)
	require.NoError(t, m.Initialize(InitArgs{}))
	defer m.Finalize()
	list, err := m.SlotList(false)
	require.NoError(t, err)
	assert.Empty(t, list)
	fail = false
	ctx.AddReader(sim.NewReader("Late Reader"))
	list, err = m.SlotList(false)
	require.NoError(t, err)
	assert.Len(t, list, 2, "the back end is opened once it works")
}
