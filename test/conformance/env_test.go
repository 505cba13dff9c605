package conformance

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

var (
	card   string // template simulator state; each run works on a copy
	tmpDir string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if tmpDir, err = os.MkdirTemp("", "myna-conformance-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	card = filepath.Join(tmpDir, "card.json")
	lib, err := modtest.Library(tmpDir)
	if err == nil {
		err = Open(lib)
	}
	if err == nil {
		err = modtest.NewSimState(card, sim.Options{})
	}
	if err == nil && beforeFirstInitialize != nil {
		err = beforeFirstInitialize()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	return m.Run()
}

// beforeFirstInitialize, when set, runs after the module is loaded and
// before the process's first C_Initialize.
var beforeFirstInitialize func() error

// token is one of the card's two tokens.
type token struct {
	name string
	pin  string
	id   byte // CKA_ID of its key pair and certificate
}

var tokens = []token{
	{"auth", sim.DefaultAuthPIN, 1},
	{"sign", sim.DefaultSignPIN, 2},
}

// env is one run of a rule: a freshly initialised module on a fresh copy
// of the card, the token under test, and the handles the state made.
type env struct {
	t    *testing.T
	m    Mem
	tok  token
	slot uint // the token's slot
	// s is the session the state opened (0: none).
	s uint
	// priv, pub and cert are the token's key pair and certificate (0
	// when the state did not find them); stale private-key handles are
	// kept across a logout.
	priv, pub, cert uint
}

// bad handles and slots: never issued by the module.
const (
	badSlot    = 0x7777
	badSession = 0x7777
	badObject  = 0x7777
)

func newEnv(t *testing.T, tok token) *env {
	t.Helper()
	state := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, modtest.CopyFile(state, card))
	t.Setenv(modtest.EnvSim, state)
	e := &env{t: t, tok: tok}
	e.ok(Call(FInitialize, Null), "C_Initialize")
	t.Cleanup(func() { Call(FFinalize, Null); e.m.Free() })
	slots := e.slotList()
	require.Len(t, slots, 2, "one simulated card: two tokens")
	e.slot = slots[0]
	if tok.name == "sign" {
		e.slot = slots[1]
	}
	return e
}

// ok fails the run unless rv is CKR_OK.
func (e *env) ok(rv uint, what string) {
	e.t.Helper()
	require.Equal(e.t, ck.Name(ck.CKR_OK), ck.Name(rv), what)
}

func (e *env) slotList() []uint {
	n := e.m.Ulong(0)
	e.ok(Call(FGetSlotList, U(1), Null, n), "C_GetSlotList size")
	list := e.m.Buf(8*int(ReadUlong(n)), nil)
	e.ok(Call(FGetSlotList, U(1), list, n), "C_GetSlotList")
	return ReadUlongs(list, int(ReadUlong(n)))
}

// open opens a session on the token (read/write with rw).
func (e *env) open(rw bool) uint {
	flags := uint(ck.CKF_SERIAL_SESSION)
	if rw {
		flags |= ck.CKF_RW_SESSION
	}
	ph := e.m.Ulong(0)
	e.ok(Call(FOpenSession, U(e.slot), U(flags), Null, Null, ph), "C_OpenSession")
	return ReadUlong(ph)
}

// login logs the token in with its right PIN through session s.
func (e *env) login(s uint) uint {
	return Call(FLogin, U(s), U(ck.CKU_USER), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
}

func ulong(v uint) []byte { return binary.NativeEndian.AppendUint64(nil, uint64(v)) }

// find returns the objects of session s matching class and CKA_ID id.
func (e *env) find(s, class uint, id byte) []uint {
	e.t.Helper()
	e.ok(Call(FFindObjectsInit, U(s), e.m.Template(Attr{Type: ck.CKA_CLASS, Value: ulong(class)}, Attr{Type: ck.CKA_ID, Value: []byte{id}}), U(2)), "C_FindObjectsInit")
	buf, n := e.m.Buf(8*16, nil), e.m.Ulong(0)
	e.ok(Call(FFindObjects, U(s), buf, U(16), n), "C_FindObjects")
	e.ok(Call(FFindObjectsFinal, U(s)), "C_FindObjectsFinal")
	return ReadUlongs(buf, int(ReadUlong(n)))
}

// one returns the single object of class and id, or 0.
func (e *env) one(s, class uint, id byte) uint {
	if found := e.find(s, class, id); len(found) == 1 {
		return found[0]
	}
	return 0
}

// learn finds the token's objects visible in session s.
func (e *env) learn(s uint) {
	e.cert = e.one(s, ck.CKO_CERTIFICATE, e.tok.id)
	e.pub = e.one(s, ck.CKO_PUBLIC_KEY, e.tok.id)
	if priv := e.one(s, ck.CKO_PRIVATE_KEY, e.tok.id); priv != 0 {
		e.priv = priv
	}
}

// mech is a pointer to a CK_MECHANISM of type mech.
func (e *env) mech(mech uint) Arg { return e.m.Mechanism(mech) }

// sessionState returns CK_SESSION_INFO.state of session s.
func (e *env) sessionState(s uint) uint {
	info := e.m.Buf(32, nil)
	e.ok(Call(FGetSessionInfo, U(s), info), "C_GetSessionInfo")
	return uint(binary.NativeEndian.Uint64(Read(info, 16)[8:]))
}

// tokenFlags returns CK_TOKEN_INFO.flags of the token.
func (e *env) tokenFlags() uint {
	info := e.m.Buf(256, nil)
	e.ok(Call(FGetTokenInfo, U(e.slot), info), "C_GetTokenInfo")
	// label[32] manufacturerID[32] model[16] serialNumber[16] flags
	return uint(binary.NativeEndian.Uint64(Read(info, 104)[96:]))
}
