package pcsc

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// The PC/SC integration tests need pcscd running with vsmartcard's vpcd
// (Debian's vsmartcard-vpcd listens on 127.0.0.1:35963 for the reader
// "Virtual PCD 00 00"). The test serves a simulated card to vpcd itself.
// Run them with test/pcsc-sim.sh, or by hand with pcscd started:
//
//	MYNA_TEST_PCSC=1 go test -run PCSC ./cardos/pcsc
//
// MYNA_TEST_PCSC_VPCD and MYNA_TEST_PCSC_READER override the vpcd address
// and the reader name.

// pcscEnv skips the test unless MYNA_TEST_PCSC=1 and returns the vpcd
// address and reader name.
func pcscEnv(t *testing.T) (addr, reader string) {
	t.Helper()
	if os.Getenv("MYNA_TEST_PCSC") != "1" {
		t.Skip("set MYNA_TEST_PCSC=1 with pcscd and vpcd running (see test/pcsc-sim.sh)")
	}
	return readerEnv()
}

// hangGuard bounds how long a step may wait for pcscd before the test
// fails instead of hanging; it is not a timing assertion.
const hangGuard = 30 * time.Second

// waitFor calls WaitChange until cond holds for the named reader's status
// and returns that status.
func waitFor(t *testing.T, c cardos.Context, name string, cond func(r cardos.ReaderStatus, ok bool) bool) cardos.ReaderStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	known, err := c.Readers()
	require.NoError(t, err)
	for {
		for _, r := range known {
			if r.Name == name && cond(r, true) {
				return r
			}
		}
		if !containsReader(known, name) && cond(cardos.ReaderStatus{}, false) {
			return cardos.ReaderStatus{}
		}
		known, err = c.WaitChange(ctx, known)
		require.NoError(t, err, "waiting for reader %q", name)
	}
}

func containsReader(rs []cardos.ReaderStatus, name string) bool {
	for _, r := range rs {
		if r.Name == name {
			return true
		}
	}
	return false
}

func TestPCSCSimulatedCard(t *testing.T) {
	addr, readerName := pcscEnv(t)
	card, err := sim.New(sim.Options{})
	require.NoError(t, err)
	certs := card.Certificates()

	c, err := New()
	require.NoError(t, err)
	defer c.Close()
	waitFor(t, c, readerName, func(r cardos.ReaderStatus, ok bool) bool { return ok })

	// Serve the card to vpcd; the reader then reports a card.
	reader := sim.NewReader("vicc")
	reader.Insert(card)
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sim.ServeVPCD(serveCtx, addr, reader) }()
	defer func() { stopServe(); <-served }()
	st := waitFor(t, c, readerName, func(r cardos.ReaderStatus, ok bool) bool { return ok && r.Present })
	inserted := st.Events

	tr, err := c.Connect(readerName)
	require.NoError(t, err)
	defer tr.Close()
	assert.Equal(t, sim.DefaultATR, tr.ATR())
	cl := jpki.NewClient(tr)

	t.Run("token, certificate, verify, sign", func(t *testing.T) {
		require.NoError(t, tr.Begin())
		defer func() { require.NoError(t, tr.End(false)) }()
		name, err := cl.TokenName()
		require.NoError(t, err)
		assert.Equal(t, "JPKIAPICCTOKEN2", name)
		der, err := cl.ReadCertificate(cardos.AuthCert)
		require.NoError(t, err)
		assert.Equal(t, certs.AuthCert, der)
		n, err := cl.TriesLeft(cardos.AuthKey)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		require.NoError(t, cl.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)))
		sig, err := cl.Sign(cardos.AuthKey, digestInfo("over PC/SC"))
		require.NoError(t, err)
		cert, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		d := sha256.Sum256([]byte("over PC/SC"))
		require.NoError(t, rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, d[:], sig))
	})

	t.Run("own reset is not reported as a reset", func(t *testing.T) {
		require.NoError(t, tr.Begin())
		require.NoError(t, tr.End(true))
		cl.Forget()
		_, err := cl.Sign(cardos.AuthKey, digestInfo("x"))
		require.ErrorIs(t, err, cardos.ErrPINRequired, "End(true) dropped the PIN")
		require.NotErrorIs(t, err, cardos.ErrCardReset)

		// End(true) without a transaction still resets (the fallback for
		// a Logout that could not leave the applet).
		require.NoError(t, cl.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)))
		require.NoError(t, tr.End(true))
		cl.Forget()
		_, err = cl.Sign(cardos.AuthKey, digestInfo("x"))
		require.ErrorIs(t, err, cardos.ErrPINRequired, "End(true) outside a transaction dropped the PIN")
		require.NotErrorIs(t, err, cardos.ErrCardReset)
	})

	t.Run("reset by another application", func(t *testing.T) {
		require.NoError(t, cl.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)))
		other, err := c.Connect(readerName)
		require.NoError(t, err)
		require.NoError(t, other.Begin())
		require.NoError(t, other.End(true))
		require.NoError(t, other.Close())

		err = tr.Begin()
		require.ErrorIs(t, err, cardos.ErrCardReset, "Begin reports the reset")
		_, err = cl.Sign(cardos.AuthKey, digestInfo("x"))
		require.NoError(t, tr.End(false))
		// The client had not been told: its SELECT state is stale but
		// the card has no PIN any more.
		require.Error(t, err)
		cl.Forget()
		_, err = cl.Sign(cardos.AuthKey, digestInfo("x"))
		require.ErrorIs(t, err, cardos.ErrPINRequired)

		// Reset seen by Transmit outside a transaction.
		other, err = c.Connect(readerName)
		require.NoError(t, err)
		require.NoError(t, other.Begin())
		require.NoError(t, other.End(true))
		require.NoError(t, other.Close())
		_, err = cl.TokenName()
		require.ErrorIs(t, err, cardos.ErrCardReset)
		name, err := cl.TokenName()
		require.NoError(t, err, "the transport is usable after a reset")
		assert.Equal(t, "JPKIAPICCTOKEN2", name)
	})

	t.Run("logout drops the PIN", func(t *testing.T) {
		require.NoError(t, tr.Begin())
		defer func() { require.NoError(t, tr.End(false)) }()
		require.NoError(t, cl.Verify(cardos.SignKey, []byte(sim.DefaultSignPIN)))
		_, err := cl.ReadCertificate(cardos.SignCert)
		require.NoError(t, err)
		require.NoError(t, cl.Logout())
		_, err = cl.Sign(cardos.SignKey, digestInfo("x"))
		require.ErrorIs(t, err, cardos.ErrPINRequired)
	})

	t.Run("removal and reinsertion", func(t *testing.T) {
		reader.Remove()
		st := waitFor(t, c, readerName, func(r cardos.ReaderStatus, ok bool) bool { return ok && !r.Present })
		assert.Greater(t, st.Events, inserted)
		_, err := cl.TokenName()
		require.ErrorIs(t, err, cardos.ErrCardRemoved)
		_, err = c.Connect(readerName)
		require.ErrorIs(t, err, cardos.ErrNoCard)

		reader.Insert(card)
		st2 := waitFor(t, c, readerName, func(r cardos.ReaderStatus, ok bool) bool { return ok && r.Present })
		assert.Greater(t, st2.Events, st.Events)
		tr2, err := c.Connect(readerName)
		require.NoError(t, err)
		defer tr2.Close()
		name, err := jpki.NewClient(tr2).TokenName()
		require.NoError(t, err)
		assert.Equal(t, "JPKIAPICCTOKEN2", name)
	})

	t.Run("WaitChange cancel and Close", func(t *testing.T) {
		known, err := c.Readers()
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := c.WaitChange(ctx, known); done <- err }()
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)

		c2, err := New()
		require.NoError(t, err)
		known, err = c2.Readers()
		require.NoError(t, err)
		go func() { _, err := c2.WaitChange(context.Background(), known); done <- err }()
		require.NoError(t, c2.Close())
		require.ErrorIs(t, <-done, ErrClosed)
	})
}

// digestInfo is the SHA-256 DigestInfo of msg.
func digestInfo(msg string) []byte { return pkcs1.SHA256([]byte(msg)) }
