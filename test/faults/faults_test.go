// Package faults drives libmyna-pkcs11.so (through miekg/pkcs11) against an
// in-process simulated card that misbehaves: removed in the middle of a
// signature, a login or a certificate read; reset by another application;
// swapped for another card; the reader unplugged; garbage, truncated, wrong
// status word and silent answers. The faults reach the simulator inside the
// module through the test-only control file of cardos/backend
// (MYNA_PKCS11_SIM_CONTROL). Every scenario checks the exact return codes,
// that the module recovers when the card is back, and that the card lost no
// PIN try. Most scenarios run with the PIN scope "session", where the
// card also received exactly the VERIFY commands the test asked for (the
// module never sends a PIN by itself); the "operation" scope, where every
// signature verifies the held PIN again, has its own scenarios
// (TestOperationScope) that count tries.
package faults

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/backend"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

const (
	authPIN   = sim.DefaultAuthPIN
	signPIN   = sim.DefaultSignPIN
	insVerify = "20"
	insSign   = "2A"
	insRead   = "B0"
	insSelect = "A4"
)

var (
	ctx          *pkcs11.Ctx
	cardA, cardB string // template state files of two different cards
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "myna-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	lib, err := modtest.TestLibrary(dir)
	if err == nil {
		if ctx = pkcs11.New(lib); ctx == nil {
			err = fmt.Errorf("miekg/pkcs11 could not load %s", lib)
		}
	}
	cardA, cardB = filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if err == nil {
		err = modtest.NewSimState(cardA, sim.Options{})
	}
	if err == nil {
		err = modtest.NewSimState(cardB, sim.Options{Profile: sim.Profile{Name: "別人 太郎"}})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	return m.Run()
}

// fx is one scenario: a fresh card A (and B for swaps), the control file and
// the VERIFY commands the scenario itself asks for.
type fx struct {
	t             *testing.T
	dir           string
	state, stateB string
	control       string
	seq           int
	faults        int
	wantVerifies  uint64 // VERIFYs with a PIN the test asked for (card A)
	wantVerifiesB uint64
	wrongPINTries int // tries the test spent on purpose with a wrong PIN (card A)
	auth, sign    uint
	initialized   bool
	scope         string // the PIN scope of both tokens
}

// newFx is a scenario with both tokens in the PIN scope "session".
func newFx(t *testing.T) *fx { return newFxScope(t, "session") }

// newFxScope is a scenario with both tokens in the PIN scope given.
func newFxScope(t *testing.T, scope string) *fx {
	dir := t.TempDir()
	f := &fx{t: t, dir: dir, state: filepath.Join(dir, "a.json"), stateB: filepath.Join(dir, "b.json"), control: filepath.Join(dir, "control"), scope: scope}
	require.NoError(t, modtest.CopyFile(f.state, cardA))
	require.NoError(t, modtest.CopyFile(f.stateB, cardB))
	t.Setenv(modtest.EnvSim, f.state)
	t.Setenv(backend.EnvSimControl, f.control)
	t.Setenv("MYNA_PKCS11_AUTH_PIN_SCOPE", scope)
	t.Setenv("MYNA_PKCS11_SIGN_PIN_SCOPE", scope)
	return f
}

func (f *fx) init() {
	f.t.Helper()
	require.NoError(f.t, ctx.Initialize(), "C_Initialize")
	f.initialized = true
	f.t.Cleanup(func() {
		if f.initialized {
			_ = ctx.Finalize()
		}
	})
	f.auth, f.sign = f.slots()
}

func (f *fx) finalize() {
	require.NoError(f.t, ctx.Finalize())
	f.initialized = false
}

// do writes control commands; they run at the module's next card operation.
func (f *fx) do(cmds ...string) {
	f.t.Helper()
	f.seq++
	body := fmt.Sprintf("# %d\n", f.seq)
	for _, c := range cmds {
		body += c + "\n"
		if c != "fault none" && c != "insert" && c != "plug" {
			f.faults++
		}
	}
	require.NoError(f.t, os.WriteFile(f.control+".tmp", []byte(body), 0o600))
	require.NoError(f.t, os.Rename(f.control+".tmp", f.control))
}

func (f *fx) stats(state string) backend.CardStats {
	b, err := os.ReadFile(f.control + ".stats")
	require.NoError(f.t, err)
	var st backend.ControlStats
	require.NoError(f.t, json.Unmarshal(b, &st))
	require.Empty(f.t, st.Errors, "control commands")
	return st.Cards[state]
}

func (f *fx) slots() (auth, sign uint) {
	f.t.Helper()
	list, err := ctx.GetSlotList(true)
	require.NoError(f.t, err)
	require.Len(f.t, list, 2)
	for _, s := range list {
		ti, err := ctx.GetTokenInfo(s)
		require.NoError(f.t, err)
		if ti.MinPinLen == 4 {
			auth = s
		} else {
			sign = s
		}
	}
	require.NotEqual(f.t, auth, sign)
	return auth, sign
}

func (f *fx) open(slot uint) pkcs11.SessionHandle {
	f.t.Helper()
	s, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	require.NoError(f.t, err)
	return s
}

// login logs in with the right PIN and counts the VERIFY it expects.
func (f *fx) login(s pkcs11.SessionHandle, slot uint, onB bool) error {
	pin := authPIN
	if slot == f.sign {
		pin = signPIN
	}
	err := ctx.Login(s, pkcs11.CKU_USER, pin)
	if onB {
		f.wantVerifiesB++
	} else {
		f.wantVerifies++
	}
	return err
}

func (f *fx) key(s pkcs11.SessionHandle) pkcs11.ObjectHandle {
	f.t.Helper()
	objs := f.find(s, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY))
	require.Len(f.t, objs, 1)
	return objs[0]
}

func (f *fx) find(s pkcs11.SessionHandle, tmpl ...*pkcs11.Attribute) []pkcs11.ObjectHandle {
	f.t.Helper()
	require.NoError(f.t, ctx.FindObjectsInit(s, tmpl))
	objs, _, err := ctx.FindObjects(s, 100)
	require.NoError(f.t, err)
	require.NoError(f.t, ctx.FindObjectsFinal(s))
	return objs
}

var mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}

func (f *fx) signWith(s pkcs11.SessionHandle, msg string) ([]byte, error) {
	key := f.key(s)
	if err := ctx.SignInit(s, mech, key); err != nil {
		return nil, err
	}
	return ctx.Sign(s, []byte(msg))
}

// verify checks sig against the certificate of token (1 auth, 2 sign) of the card in state.
func (f *fx) verify(state string, token int, msg string, sig []byte) {
	f.t.Helper()
	c, err := sim.Open(state, sim.Options{})
	require.NoError(f.t, err)
	der := c.Certificates().AuthCert
	if token == 2 {
		der = c.Certificates().SignCert
	}
	cert, err := x509.ParseCertificate(der)
	require.NoError(f.t, err)
	h := sha256.Sum256([]byte(msg))
	require.NoError(f.t, rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig), "signature verifies with the card's key")
}

// recovered proves the module works again on the card in state: a new
// session on each token, login, signature verified.
func (f *fx) recovered(state string, onB bool) {
	f.t.Helper()
	f.auth, f.sign = f.slots()
	for i, slot := range []uint{f.auth, f.sign} {
		s := f.open(slot)
		err := f.login(s, slot, onB)
		if err == pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			if onB {
				f.wantVerifiesB--
			} else {
				f.wantVerifies--
			}
			err = nil
		}
		require.NoError(f.t, err, "login after recovery")
		msg := fmt.Sprintf("recovered %s %d", f.t.Name(), i)
		sig, err := f.signWith(s, msg)
		require.NoError(f.t, err, "sign after recovery")
		f.verify(state, i+1, msg, sig)
		require.NoError(f.t, ctx.CloseSession(s))
	}
}

// done checks the lockout-safety invariants and records the figures.
func (f *fx) done() {
	f.t.Helper()
	lost := 0
	for _, c := range []struct {
		state string
		want  uint64
		spent int
	}{{f.state, f.wantVerifies, f.wrongPINTries}, {f.stateB, f.wantVerifiesB, 0}} {
		card, err := sim.Open(c.state, sim.Options{})
		require.NoError(f.t, err)
		spent := (sim.AuthMaxTries - card.TriesLeft(1)) + (sim.SignMaxTries - card.TriesLeft(2))
		got := f.stats(c.state).Verifies
		assert.Equal(f.t, c.spent, spent, "PIN tries spent on %s", filepath.Base(c.state))
		if spent > c.spent {
			lost += spent - c.spent
		}
		if f.scope == "operation" {
			continue // held PINs are verified again by design; tries are what count
		}
		assert.Equal(f.t, c.want, got, "VERIFY commands with a PIN received by %s", filepath.Base(c.state))
		if got > c.want {
			lost += int(got - c.want)
		}
	}
	record(f.t, map[string]any{"scenarios": 1, "faults": f.faults, "retries_lost": lost, "crashes": 0})
}

// record appends one JSON line of figures to $MYNA_RELIABILITY_OUT.
func record(t *testing.T, fields map[string]any) {
	path := os.Getenv("MYNA_RELIABILITY_OUT")
	if path == "" {
		return
	}
	fields["suite"] = "faults"
	fields["test"] = t.Name()
	fields["failed"] = t.Failed()
	b, _ := json.Marshal(fields)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer fh.Close()
	fh.Write(append(b, '\n'))
}

func rv(err error) string {
	if err == nil {
		return "CKR_OK"
	}
	if e, ok := err.(pkcs11.Error); ok {
		return e.Error()
	}
	return err.Error()
}

func ckr(code uint) string { return rv(pkcs11.Error(code)) }
