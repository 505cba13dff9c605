package abi

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

// Default PINs of a generated simulator card.
const (
	authPIN = sim.DefaultAuthPIN
	signPIN = sim.DefaultSignPIN
)

var (
	lib    string      // module under test
	ctx    *pkcs11.Ctx // miekg handle on it (same instance as the Raw* helpers)
	cardA  string      // template state file of card A
	cardB  string      // template state file of card B (another card)
	tmpDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	tmpDir, err = os.MkdirTemp("", "myna-abi-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	cardA = filepath.Join(tmpDir, "card-a.json")
	cardB = filepath.Join(tmpDir, "card-b.json")
	steps := []func() error{
		func() (err error) { lib, err = modtest.Library(tmpDir); return },
		func() error { return RawOpen(lib) },
		func() error {
			if ctx = pkcs11.New(lib); ctx == nil {
				return fmt.Errorf("miekg/pkcs11 could not load %s", lib)
			}
			return nil
		},
		func() error { return modtest.NewSimState(cardA, sim.Options{}) },
		func() error { return modtest.NewSimState(cardB, sim.Options{}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			fmt.Fprintln(os.Stderr, "abi:", err)
			return 1
		}
	}
	return m.Run()
}

// freshCard copies a template card into the test's temp dir and points
// the module at it; the module reads MYNA_PKCS11_SIM at C_Initialize.
func freshCard(t *testing.T, template string) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, modtest.CopyFile(state, template))
	t.Setenv(modtest.EnvSim, state)
	return state
}

// start gives the test a fresh card A and an initialised module, finalised
// at cleanup. It returns the state file.
func start(t *testing.T) string {
	t.Helper()
	state := freshCard(t, cardA)
	initialize(t)
	return state
}

// initialize calls C_Initialize and registers C_Finalize for cleanup.
func initialize(t *testing.T) {
	t.Helper()
	require.NoError(t, ctx.Initialize(), "C_Initialize")
	t.Cleanup(func() { _ = ctx.Finalize() })
}

// slots returns the authentication and signature slots of the one reader.
func slots(t *testing.T) (auth, sign uint) {
	t.Helper()
	list, err := ctx.GetSlotList(true)
	require.NoError(t, err)
	require.Len(t, list, 2, "one simulated reader yields two slots")
	for _, s := range list {
		ti, err := ctx.GetTokenInfo(s)
		require.NoError(t, err)
		switch ti.MinPinLen {
		case 4:
			auth = s
		case 6:
			sign = s
		default:
			t.Fatalf("slot %d: unexpected ulMinPinLen %d", s, ti.MinPinLen)
		}
	}
	require.NotZero(t, auth+sign)
	require.NotEqual(t, auth, sign)
	return auth, sign
}

// session opens a read-only session on slot, closed at cleanup.
func session(t *testing.T, slot uint) pkcs11.SessionHandle {
	t.Helper()
	s, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ctx.CloseSession(s) })
	return s
}

// triesLeft reads a retry counter from the simulator's state file
// (1 auth, 2 sign) without touching the module.
func triesLeft(t *testing.T, state string, key int) int {
	t.Helper()
	c, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	return c.TriesLeft(key)
}

// certs reads the certificates of a state file.
func certs(t *testing.T, state string) sim.Certs {
	t.Helper()
	c, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	return c.Certificates()
}

// ckErr is the error miekg returns for a CK_RV.
func ckErr(rv uint) error {
	if rv == pkcs11.CKR_OK {
		return nil
	}
	return pkcs11.Error(rv)
}

// rvName names a CK_RV for messages.
func rvName(rv uint) string { return fmt.Sprintf("%s (0x%x)", pkcs11.Error(rv).Error(), rv) }

// find runs C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal.
func find(t *testing.T, s pkcs11.SessionHandle, tmpl ...*pkcs11.Attribute) []pkcs11.ObjectHandle {
	t.Helper()
	require.NoError(t, ctx.FindObjectsInit(s, tmpl))
	var all []pkcs11.ObjectHandle
	for {
		objs, _, err := ctx.FindObjects(s, 10)
		require.NoError(t, err)
		if len(objs) == 0 {
			break
		}
		all = append(all, objs...)
	}
	require.NoError(t, ctx.FindObjectsFinal(s))
	return all
}

// classOf is a template matching CKA_CLASS.
func classOf(class uint) *pkcs11.Attribute { return pkcs11.NewAttribute(pkcs11.CKA_CLASS, class) }

// one finds exactly one object of class.
func one(t *testing.T, s pkcs11.SessionHandle, class uint) pkcs11.ObjectHandle {
	t.Helper()
	objs := find(t, s, classOf(class))
	require.Len(t, objs, 1, "objects of class 0x%x", class)
	return objs[0]
}

// attr reads one attribute value with miekg.
func attr(t *testing.T, s pkcs11.SessionHandle, o pkcs11.ObjectHandle, typ uint) []byte {
	t.Helper()
	a, err := ctx.GetAttributeValue(s, o, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	require.NoError(t, err)
	return a[0].Value
}
