package p11

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// loggedIn is a fixture with both tokens logged in and used once: a
// long-lived program (ssh-agent, a signer) before it goes idle.
type loggedIn struct {
	auth, sign         SlotID
	authSess, signSess SessionHandle
	authKey, signKey   ObjectHandle
	serial             string
}

func logInBoth(f *fixture) loggedIn {
	f.t.Helper()
	var l loggedIn
	l.auth, l.sign = f.slots()
	l.authSess, l.signSess = f.open1(l.auth, false), f.open1(l.sign, false)
	f.login(l.authSess, sim.DefaultAuthPIN)
	f.login(l.signSess, sim.DefaultSignPIN)
	l.authKey, l.signKey = f.privKey(l.authSess), f.privKey(l.signSess)
	f.sign(l.authSess, l.authKey, ck.CKM_SHA256_RSA_PKCS, []byte("before"))
	f.sign(l.signSess, l.signKey, ck.CKM_SHA256_RSA_PKCS, []byte("before"))
	ti, err := f.m.TokenInfo(l.auth)
	require.NoError(f.t, err)
	l.serial = ti.SerialNumber
	return l
}

// trySign asks for a signature on sess with key and returns the result.
func (f *fixture) trySign(sess SessionHandle, key ObjectHandle, msg string) ([]byte, error) {
	if err := f.m.SignInit(sess, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key); err != nil {
		return nil, err
	}
	sig, _, err := f.m.Sign(sess, []byte(msg), OutBuf{Len: 256})
	return sig, err
}

// signedBy reports which of the certificates' keys made sig over msg.
func signedBy(t *testing.T, sig []byte, msg string, certs map[string][]byte) []string {
	h := sha256.Sum256([]byte(msg))
	var by []string
	for name, der := range certs {
		if rsa.VerifyPKCS1v15(certPub(t, der), crypto.SHA256, h[:], sig) == nil {
			by = append(by, name)
		}
	}
	return by
}

// A program logged in to card 1 stays idle; the smart-card service stops,
// card 2 goes into the same reader, the service starts again (counting
// insertions afresh, so the reader's event count repeats). Whatever card
// 2's PINs, whether or not the program looked at the slots while the
// service was down, and whatever it calls first: card 1's PINs never
// reach card 2, card 1's sessions never sign with card 2's keys, and card
// 2 is a new token, with its own serial, not logged in.
func TestSwapDuringServiceRestart(t *testing.T) {
	for _, scope := range []PINScope{ScopeOperation, ScopeSession} {
		for _, other := range []string{"other", "otherpins"} {
			for _, between := range []bool{false, true} {
				for _, first := range []string{"sign", "token info"} {
					name := fmt.Sprintf("%s/%s/slot list while down %v/first %s", scope, other, between, first)
					t.Run(name, func(t *testing.T) {
						testSwapDuringRestart(t, scope, other, between, first)
					})
				}
			}
		}
	}
}

func testSwapDuringRestart(t *testing.T, scope PINScope, other string, between bool, first string) {
	f := newFixtureConfig(t, scopeConfig(scope, scope))
	l := logInBoth(f)
	card1 := f.card

	f.ctx.StopService()
	if between {
		list, err := f.m.SlotList(true)
		require.NoError(t, err)
		assert.Empty(t, list, "no service, no token")
	}
	card2 := genCard(t, other)
	f.r.Insert(card2)
	f.ctx.StartService()
	before := card2.Stats()

	if first == "token info" {
		ti, err := f.m.TokenInfo(l.auth)
		require.NoError(t, err)
		assert.NotEqual(t, l.serial, ti.SerialNumber, "C_GetTokenInfo shows the card in the reader")
	}
	certs := map[string][]byte{
		"card 1 auth": card1.Certificates().AuthCert, "card 1 sign": card1.Certificates().SignCert,
		"card 2 auth": card2.Certificates().AuthCert, "card 2 sign": card2.Certificates().SignCert,
	}
	for _, s := range []struct {
		sess SessionHandle
		key  ObjectHandle
	}{{l.authSess, l.authKey}, {l.signSess, l.signKey}} {
		sig, err := f.trySign(s.sess, s.key, "after the swap")
		require.Error(t, err, "card 1's session signs nothing after the swap (signed by %v)", signedBy(t, sig, "after the swap", certs))
		assert.Contains(t, []string{"CKR_DEVICE_REMOVED", "CKR_SESSION_HANDLE_INVALID"}, rv(err))
		_, err = f.m.SessionInfo(s.sess)
		assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(err), "card 1's sessions are closed")
	}
	after := card2.Stats()
	assert.Equal(t, before.Verifies, after.Verifies, "no PIN was sent to card 2")
	assert.Equal(t, before.Signatures, after.Signatures, "card 2 signed nothing")
	assert.Equal(t, sim.AuthMaxTries, card2.TriesLeft(1))
	assert.Equal(t, sim.SignMaxTries, card2.TriesLeft(2))
	assert.Equal(t, sim.AuthMaxTries, card1.TriesLeft(1))

	// Card 2 is a new token: its own serial, not logged in, its own PIN.
	s := f.open1(l.auth, false)
	info, err := f.m.SessionInfo(s)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State, "a new session on card 2 is not logged in")
	ti, err := f.m.TokenInfo(l.auth)
	require.NoError(t, err)
	assert.NotEqual(t, l.serial, ti.SerialNumber)
	_, err = f.trySign(s, l.authKey, "x")
	assert.Error(t, err, "card 1's key handle names nothing on card 2")
	pin := sim.DefaultAuthPIN
	if other == "otherpins" {
		pin = otherAuthPIN
	}
	f.login(s, pin)
	sig := f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("card 2"))
	assert.Equal(t, []string{"card 2 auth"}, signedBy(t, sig, "card 2", certs))
}

// The same card across a service restart: the call that meets the dead
// connection connects again, proves the card is the same, and works. In
// ScopeOperation the held PIN is verified on the new connection; in
// ScopeSession the card lost its login with the power cycle, and says so.
func TestSameCardAcrossServiceRestart(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		l := logInBoth(f)
		f.ctx.StopService()
		f.ctx.StartService()
		sig, err := f.trySign(l.authSess, l.authKey, "after")
		if scope == ScopeOperation {
			require.NoError(t, err, "the first call after the restart works")
			assert.Equal(t, []string{"card"}, signedBy(t, sig, "after", map[string][]byte{"card": f.card.Certificates().AuthCert}))
		} else {
			assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err), "the card lost the login with the restart")
			f.login(l.authSess, sim.DefaultAuthPIN)
			f.sign(l.authSess, l.authKey, ck.CKM_SHA256_RSA_PKCS, []byte("after"))
		}
		ti, err := f.m.TokenInfo(l.auth)
		require.NoError(t, err)
		assert.Equal(t, l.serial, ti.SerialNumber)
		assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
		assert.Equal(t, sim.SignMaxTries, f.card.TriesLeft(2))
	})
}

// After a reset by another program the card proves its identity again,
// in the same transaction, before the held PIN is sent: one READ BINARY
// of the authentication certificate more than a signature costs.
func TestResetProvesIdentity(t *testing.T) {
	f := newFixture(t)
	l := logInBoth(f)
	count := func() (reads, verifies uint64) {
		st := f.card.Stats()
		return st.ByINS[apdu.INSReadBinary], st.Verifies
	}
	r0, v0 := count()
	f.sign(l.authSess, l.authKey, ck.CKM_SHA256_RSA_PKCS, []byte("x"))
	r1, v1 := count()
	assert.Equal(t, r0, r1, "no proof without a reset")
	f.card.Reset()
	f.sign(l.authSess, l.authKey, ck.CKM_SHA256_RSA_PKCS, []byte("x"))
	r2, v2 := count()
	assert.Equal(t, r1+1, r2, "the identity read after the reset")
	assert.Equal(t, v1-v0, v2-v1, "one VERIFY per signature either way")
}

// removingContext hands out transports that, at the first command with
// INS ins, take the card out of the reader and report a communication
// error, as a reader does when the card leaves in the middle of a command.
type removingContext struct {
	cardos.Context
	r   *sim.Reader
	ins byte
}

type removingTransport struct {
	cardos.Transport
	c *removingContext
}

func (c *removingContext) Connect(reader string) (cardos.Transport, error) {
	t, err := c.Context.Connect(reader)
	if err != nil {
		return nil, err
	}
	return &removingTransport{t, c}, nil
}

func (t *removingTransport) Transmit(cmd []byte) ([]byte, error) {
	if len(cmd) > 1 && cmd[1] == t.c.ins {
		t.c.r.Remove()
		return nil, fmt.Errorf("pcsc: transmit: %w", cardos.ErrCommFailure)
	}
	return t.Transport.Transmit(cmd)
}

// A card taken out in the middle of C_Sign or C_Login gives
// CKR_DEVICE_REMOVED even where the reader reports a communication error
// rather than the removal, and the sessions are closed.
func TestRemovedMidCommandIsRemoved(t *testing.T) {
	for _, tt := range []struct {
		name string
		ins  byte
	}{{"sign", apdu.INSComputeSignature}, {"login", apdu.INSVerify}} {
		t.Run(tt.name, func(t *testing.T) {
			r := sim.NewReader("Sim Reader 00 00")
			card := genCard(t, "default")
			r.Insert(card)
			rc := &removingContext{Context: sim.NewContext(r), r: r}
			m := NewModule(func() (cardos.Context, error) { return rc, nil }, mynacard.Attach)
			require.NoError(t, m.Initialize(InitArgs{}))
			t.Cleanup(func() { m.Finalize() })
			f := &fixture{t: t, m: m, card: card, r: r}
			auth, _ := f.slots()
			s := f.open1(auth, false)
			var err error
			if tt.ins == apdu.INSComputeSignature {
				f.login(s, sim.DefaultAuthPIN)
				key := f.privKey(s)
				rc.ins = tt.ins
				_, err = f.trySign(s, key, "x")
			} else {
				rc.ins = tt.ins
				err = m.Login(s, ck.CKU_USER, []byte(sim.DefaultAuthPIN))
			}
			assert.Equal(t, "CKR_DEVICE_REMOVED", rv(err))
			_, err = m.SessionInfo(s)
			assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(err))
		})
	}
}

// The signature password's full counter is the card's own, learnt right
// after the login's successful VERIFY (no published trace shows 63C5):
// whatever the card reports, the held password is sent while no wrong
// password was tried since the login, and never after one.
func TestFullCounterLearnt(t *testing.T) {
	for _, full := range []int{3, 5, 10} {
		t.Run(fmt.Sprint(full), func(t *testing.T) {
			f := newFixture(t)
			require.NoError(t, f.card.SetQuirks(sim.Quirks{SignMaxTries: full}))
			require.NoError(t, f.card.AdminReset())
			_, sign := f.slots()
			s := f.open1(sign, false)
			f.login(s, sim.DefaultSignPIN)
			key := f.privKey(s)
			f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("1"))
			f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("2"))
			ti, err := f.m.TokenInfo(sign)
			require.NoError(t, err)
			assert.Zero(t, ti.Flags&ck.CKF_USER_PIN_COUNT_LOW, "a full counter is not low")

			// Another program tries a wrong password.
			require.Equal(t, "9000", f.other(rawSelectJPKI))
			require.Equal(t, "9000", f.other(rawSelectEF(efSignPIN)))
			f.other(rawVerify("WRONG0"))
			verifies := f.card.Stats().Verifies
			_, err = f.trySign(s, key, "3")
			assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err), "the held password is not sent after a wrong try")
			assert.Equal(t, verifies, f.card.Stats().Verifies)
			assert.Equal(t, full-1, f.card.TriesLeft(2))
		})
	}
}
