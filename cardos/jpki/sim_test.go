package jpki_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// Generating a card takes four RSA-2048 keys: one card per profile per
// test binary, cloned for each test.
var (
	genMu    sync.Mutex
	genCards = map[bool]*sim.Card{}
)

// simCard returns a fresh copy of the generated card (noSign: a card
// without signature certificate).
func simCard(t *testing.T, noSign bool) *sim.Card {
	t.Helper()
	genMu.Lock()
	defer genMu.Unlock()
	base, ok := genCards[noSign]
	if !ok {
		var err error
		base, err = sim.New(sim.Options{Profile: sim.Profile{NoSignCert: noSign}})
		require.NoError(t, err)
		genCards[noSign] = base
	}
	c, err := base.Clone()
	require.NoError(t, err)
	return c
}

// connect puts card in a reader and returns a client on a transport to it.
func connect(t *testing.T, card *sim.Card) (*jpki.Client, cardos.Transport) {
	t.Helper()
	r := sim.NewReader("Test Reader 00 00")
	r.Insert(card)
	ctx := sim.NewContext(r)
	t.Cleanup(func() { ctx.Close() })
	tr, err := ctx.Connect(r.Name())
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return jpki.NewClient(tr), tr
}

// sha256DigestInfo returns the DER DigestInfo of SHA-256(msg) and the digest.
func sha256DigestInfo(msg []byte) (info, digest []byte) {
	d := sha256.Sum256(msg)
	return pkcs1.DigestInfo(crypto.SHA256, d[:]), d[:]
}

func TestSimTokenAndCertificates(t *testing.T) {
	card := simCard(t, false)
	c, _ := connect(t, card)
	want := card.Certificates()

	name, err := c.TokenName()
	require.NoError(t, err)
	assert.Equal(t, "JPKIAPICCTOKEN2", name)

	for id, der := range map[cardos.CertID][]byte{cardos.AuthCert: want.AuthCert, cardos.AuthCACert: want.AuthCA, cardos.SignCACert: want.SignCA} {
		got, err := c.ReadCertificate(id)
		require.NoError(t, err, "%v", id)
		assert.Equal(t, der, got, "%v", id)
		_, err = x509.ParseCertificate(got)
		require.NoError(t, err, "%v is a valid X.509 certificate", id)
		hdr, err := c.ReadCertificateHeader(id, 64)
		require.NoError(t, err)
		assert.Equal(t, der[:64], hdr)
	}

	_, err = c.ReadCertificate(cardos.SignCert)
	require.ErrorIs(t, err, cardos.ErrPINRequired, "the signature certificate needs the password")
	require.NoError(t, c.Verify(cardos.SignKey, []byte(sim.DefaultSignPIN)))
	got, err := c.ReadCertificate(cardos.SignCert)
	require.NoError(t, err)
	assert.Equal(t, want.SignCert, got)
}

func TestSimNoSignCert(t *testing.T) {
	for _, q := range []sim.NoSignCertEF{sim.SignEFFiller, sim.SignEFAbsent, sim.SignEFEmpty} {
		card := simCard(t, true)
		require.NoError(t, card.SetQuirks(sim.Quirks{NoSignCertEF: q}))
		c, _ := connect(t, card)
		require.NoError(t, c.Verify(cardos.SignKey, []byte(sim.DefaultSignPIN)))
		_, err := c.ReadCertificate(cardos.SignCert)
		require.ErrorIs(t, err, cardos.ErrNotFound, "quirk %d", q)
		_, err = c.ReadCertificateHeader(cardos.SignCert, 32)
		require.ErrorIs(t, err, cardos.ErrNotFound, "quirk %d", q)
		_, err = c.ReadCertificate(cardos.AuthCert)
		require.NoError(t, err)
	}
}

func TestSimLockout(t *testing.T) {
	tests := []struct {
		key       cardos.Key
		good, bad string
		max       int
	}{
		{cardos.AuthKey, sim.DefaultAuthPIN, "9999", 3},
		{cardos.SignKey, sim.DefaultSignPIN, "WRONG1", 5},
	}
	for _, tt := range tests {
		t.Run(tt.key.String(), func(t *testing.T) {
			card := simCard(t, false)
			c, _ := connect(t, card)
			n, err := c.TriesLeft(tt.key)
			require.NoError(t, err)
			require.Equal(t, tt.max, n)

			// Wrong PINs count down; a correct one restores the counter.
			for left := tt.max - 1; left >= 1; left-- {
				err := c.Verify(tt.key, []byte(tt.bad))
				var we *cardos.WrongPINError
				require.ErrorAs(t, err, &we)
				assert.Equal(t, left, we.TriesLeft)
				n, err := c.TriesLeft(tt.key)
				require.NoError(t, err)
				assert.Equal(t, left, n, "querying never spends a try")
			}
			require.NoError(t, c.Verify(tt.key, []byte(tt.good)))
			n, err = c.TriesLeft(tt.key)
			require.NoError(t, err)
			assert.Equal(t, tt.max, n, "a correct PIN resets the counter")

			// max wrong PINs lock it: the last answer is 63C0.
			for i := 1; i <= tt.max; i++ {
				err := c.Verify(tt.key, []byte(tt.bad))
				if i < tt.max {
					var we *cardos.WrongPINError
					require.ErrorAs(t, err, &we)
					assert.Equal(t, tt.max-i, we.TriesLeft)
				} else {
					require.ErrorIs(t, err, cardos.ErrPINLocked)
				}
			}
			n, err = c.TriesLeft(tt.key)
			require.NoError(t, err)
			assert.Equal(t, 0, n)
			assert.Equal(t, 0, card.TriesLeft(int(tt.key)))
			require.ErrorIs(t, c.Verify(tt.key, []byte(tt.good)), cardos.ErrPINLocked, "even the right PIN")
			_, err = c.Sign(tt.key, []byte{1, 2, 3})
			require.Error(t, err)

			// The other PIN is untouched.
			other := map[cardos.Key]cardos.Key{cardos.AuthKey: cardos.SignKey, cardos.SignKey: cardos.AuthKey}[tt.key]
			n, err = c.TriesLeft(other)
			require.NoError(t, err)
			assert.Equal(t, other.MaxTries(), n)

			// Municipal-office unlock.
			require.NoError(t, card.AdminReset())
			n, err = c.TriesLeft(tt.key)
			require.NoError(t, err)
			assert.Equal(t, tt.max, n)
			require.NoError(t, c.Verify(tt.key, []byte(tt.good)))
		})
	}
}

func TestSimLockedQuery6984(t *testing.T) {
	card := simCard(t, false)
	require.NoError(t, card.SetQuirks(sim.Quirks{BlockedQuerySW: 0x6984}))
	c, _ := connect(t, card)
	for i := 0; i < 3; i++ {
		_ = c.Verify(cardos.AuthKey, []byte("0000"))
	}
	n, err := c.TriesLeft(cardos.AuthKey)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
}

func TestSimChangePIN(t *testing.T) {
	card := simCard(t, false)
	c, tr := connect(t, card)
	require.ErrorIs(t, c.ChangePIN(cardos.AuthKey, []byte("5678")), cardos.ErrPINRequired)
	require.NoError(t, c.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)))
	require.NoError(t, c.ChangePIN(cardos.AuthKey, []byte("5678")))
	require.NoError(t, c.Verify(cardos.SignKey, []byte(sim.DefaultSignPIN)))
	require.NoError(t, c.ChangePIN(cardos.SignKey, []byte("NEWPASS2024")))

	// Power-cycle the card: the new values hold.
	require.NoError(t, tr.Begin())
	require.NoError(t, tr.End(true))
	c.Forget()
	var we *cardos.WrongPINError
	require.ErrorAs(t, c.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)), &we)
	require.NoError(t, c.Verify(cardos.AuthKey, []byte("5678")))
	require.ErrorAs(t, c.Verify(cardos.SignKey, []byte(sim.DefaultSignPIN)), &we)
	require.NoError(t, c.Verify(cardos.SignKey, []byte("NEWPASS2024")))
}

func TestSimSign(t *testing.T) {
	card := simCard(t, false)
	c, _ := connect(t, card)
	certs := card.Certificates()
	info, digest := sha256DigestInfo([]byte("hello, My Number Card"))
	for key, der := range map[cardos.Key][]byte{cardos.AuthKey: certs.AuthCert, cardos.SignKey: certs.SignCert} {
		_, err := c.Sign(key, info)
		require.ErrorIs(t, err, cardos.ErrPINRequired, "%v before Verify", key)
		pin := map[cardos.Key]string{cardos.AuthKey: sim.DefaultAuthPIN, cardos.SignKey: sim.DefaultSignPIN}[key]
		require.NoError(t, c.Verify(key, []byte(pin)))
		sig, err := c.Sign(key, info)
		require.NoError(t, err)
		require.Len(t, sig, jpki.SignatureLen)
		cert, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		require.True(t, ok)
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig), "%v signature verifies with its certificate", key)
		// A second signature needs no second Verify.
		sig2, err := c.Sign(key, info)
		require.NoError(t, err)
		assert.Equal(t, sig, sig2, "PKCS#1 v1.5 is deterministic")
		_, err = c.Sign(key, make([]byte, jpki.MaxSignInput+1))
		require.ErrorIs(t, err, cardos.ErrBadDataLength)
	}
	assert.Equal(t, uint64(4), card.Stats().Signatures)
}

func TestSimLogout(t *testing.T) {
	card := simCard(t, false)
	c, _ := connect(t, card)
	info, _ := sha256DigestInfo([]byte("x"))
	require.NoError(t, c.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)))
	require.NoError(t, c.Verify(cardos.SignKey, []byte(sim.DefaultSignPIN)))
	_, err := c.Sign(cardos.AuthKey, info)
	require.NoError(t, err)

	require.NoError(t, c.Logout())
	_, err = c.Sign(cardos.AuthKey, info)
	require.ErrorIs(t, err, cardos.ErrPINRequired, "logout drops the auth PIN")
	_, err = c.Sign(cardos.SignKey, info)
	require.ErrorIs(t, err, cardos.ErrPINRequired, "logout drops the sign PIN")
	_, err = c.ReadCertificate(cardos.SignCert)
	require.ErrorIs(t, err, cardos.ErrPINRequired)
	n, err := c.TriesLeft(cardos.AuthKey)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

func TestSimSelectCount(t *testing.T) {
	card := simCard(t, false)
	c, _ := connect(t, card)
	der := card.Certificates().AuthCert
	for _, tc := range []struct {
		name    string
		oneTx   bool
		selects uint64
	}{
		// One transaction: SELECT AP once, then EF 0018 and EF 000A
		// alternately: 1 + 6.
		{"one transaction", true, 7},
		// A transaction per call: AP and EF again each time, 6 × 2.
		{"a transaction per call", false, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card.ResetStats()
			before := c.APDUs()
			if tc.oneTx {
				require.NoError(t, c.Begin())
			}
			call := func(fn func() error) {
				if !tc.oneTx {
					require.NoError(t, c.Begin())
					defer c.End(false)
				}
				require.NoError(t, fn())
			}
			for i := 0; i < 3; i++ {
				call(func() error { _, err := c.TriesLeft(cardos.AuthKey); return err })
				call(func() error { _, err := c.ReadCertificate(cardos.AuthCert); return err })
			}
			if tc.oneTx {
				require.NoError(t, c.End(false))
			}
			st := card.Stats()
			assert.Equal(t, tc.selects, st.ByINS[0xA4])
			assert.Equal(t, st.APDUs, c.APDUs()-before)
			// A certificate of about 1 KB plus the filler takes ceil(len/256) reads.
			assert.Equal(t, uint64(3*((len(der)+255)/256)), st.ByINS[0xB0])
		})
	}
}

func TestSimResetAndFaults(t *testing.T) {
	card := simCard(t, false)
	c, _ := connect(t, card)
	info, _ := sha256DigestInfo([]byte("x"))
	require.NoError(t, c.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)))

	// Another application resets the card: the client forgets its
	// selection, and the PIN is gone.
	card.SetFault(sim.Fault{Kind: sim.FaultReset})
	_, err := c.Sign(cardos.AuthKey, info)
	require.ErrorIs(t, err, cardos.ErrCardReset)
	_, err = c.Sign(cardos.AuthKey, info)
	require.ErrorIs(t, err, cardos.ErrPINRequired)

	card.SetFault(sim.Fault{Kind: sim.FaultGarbage})
	_, err = c.TokenName()
	require.ErrorIs(t, err, cardos.ErrCommFailure)

	card.SetFault(sim.Fault{Kind: sim.FaultTruncate, OnINS: true, INS: 0xB0, After: 0})
	_, err = c.ReadCertificate(cardos.AuthCACert)
	require.Error(t, err)

	card.SetFault(sim.Fault{Kind: sim.FaultWrongSW, SW: 0x6F00, OnINS: true, INS: 0x20})
	_, err = c.TriesLeft(cardos.SignKey)
	require.Error(t, err)

	card.SetFault(sim.Fault{Kind: sim.FaultNone})
	name, err := c.TokenName()
	require.NoError(t, err)
	assert.Equal(t, "JPKIAPICCTOKEN2", name)
}

// Another program using the card between two of our transactions
// changes the card's one selection; nothing we send afterwards may go to
// the file it selected. A wrong guess would send the auth PIN to the
// sign PIN's EF (spending a sign try with a correct auth PIN) or sign
// with the other key.
func TestAnotherProgramBetweenTransactions(t *testing.T) {
	card := simCard(t, false)
	r := sim.NewReader("Shared Reader 00 00")
	r.Insert(card)
	ctx := sim.NewContext(r)
	t.Cleanup(func() { ctx.Close() })
	dial := func() *jpki.Client {
		tr, err := ctx.Connect(r.Name())
		require.NoError(t, err)
		t.Cleanup(func() { tr.Close() })
		return jpki.NewClient(tr)
	}
	a, b := dial(), dial()
	info, digest := sha256DigestInfo([]byte("shared card"))
	authPub := certKey(t, card.Certificates().AuthCert)
	signPub := certKey(t, card.Certificates().SignCert)

	// A asks for its tries (EF 0018 selected), B looks at the sign PIN
	// (EF 001B selected), A logs in with the correct auth PIN.
	_, err := a.TriesLeft(cardos.AuthKey)
	require.NoError(t, err)
	_, err = b.TriesLeft(cardos.SignKey)
	require.NoError(t, err)
	require.NoError(t, a.Verify(cardos.AuthKey, []byte("1234")))
	assert.Equal(t, 5, card.TriesLeft(2), "the sign password must keep all its tries")
	assert.Equal(t, 3, card.TriesLeft(1))

	// B logs in with the sign password and selects the sign key; A signs
	// with the auth key: the signature must be the auth key's.
	require.NoError(t, b.Verify(cardos.SignKey, []byte("ABC123")))
	_, err = b.Sign(cardos.SignKey, info)
	require.NoError(t, err)
	sig, err := a.Sign(cardos.AuthKey, info)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(authPub, crypto.SHA256, digest, sig), "signed by the auth key")
	require.Error(t, rsa.VerifyPKCS1v15(signPub, crypto.SHA256, digest, sig), "not by the sign key")

	// B leaves the applet (its logout): A's next signature is refused as
	// not logged in, not a device error.
	require.NoError(t, b.Logout())
	_, err = a.Sign(cardos.AuthKey, info)
	require.ErrorIs(t, err, cardos.ErrPINRequired)
}

// certKey returns the RSA public key of a DER certificate.
func certKey(t *testing.T, der []byte) *rsa.PublicKey {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c.PublicKey.(*rsa.PublicKey)
}

func TestLookForSignCert(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sim.Options
		want jpki.SignCertPresence
	}{
		{"with a signature certificate", sim.Options{}, jpki.SignCertHidden},
		{"none, EF 0001 filler (behind the password)", sim.Options{Profile: sim.Profile{NoSignCert: true}}, jpki.SignCertHidden},
		{"none, EF 0001 absent", sim.Options{Profile: sim.Profile{NoSignCert: true}, Quirks: sim.Quirks{NoSignCertEF: sim.SignEFAbsent}}, jpki.SignCertAbsent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card, err := sim.New(tc.opt)
			require.NoError(t, err)
			c, _ := connect(t, card)
			got, err := c.LookForSignCert()
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, 5, card.TriesLeft(2), "no password involved")
		})
	}
}
