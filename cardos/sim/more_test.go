package sim

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

func TestNewWithProfile(t *testing.T) {
	clock := time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)
	c, err := New(Options{
		Profile: Profile{AuthPIN: "4321", SignPIN: "PASS2030", NoSignCert: true, Name: "試験 次郎", BirthDate: "2018-02-28", Sex: "1"},
		Now:     func() time.Time { return clock },
		ATR:     []byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F},
	})
	require.NoError(t, err)
	assert.Equal(t, byte(0x88), c.ATR()[1])
	assert.Nil(t, c.Certificates().SignCert)
	assert.Equal(t, "試験 次郎", c.Profile().Name)
	assert.Empty(t, c.Profile().AuthPIN, "Profile never returns PINs")
	auth, err := x509.ParseCertificate(c.Certificates().AuthCert)
	require.NoError(t, err)
	assert.Equal(t, "2034-02-28", auth.NotAfter.Format(time.DateOnly), "5th birthday after 2029-12-16")
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {"0020008004" + "34333231", "9000"},
		{selSignPIN, "9000"}, {"0020008008" + "5041535332303330", "9000"}, {"00A4020C020008", "9000"}, {"00B0000003", "=008F009000"}})

	_, err = New(Options{Profile: Profile{SignPIN: "abc123"}})
	assert.ErrorContains(t, err, "A–Z and 0–9")
	_, err = New(Options{Profile: Profile{BirthDate: "12/04/1985"}})
	assert.ErrorContains(t, err, "YYYY-MM-DD")
}

func TestSetPINsAndQuirks(t *testing.T) {
	c := newTestCard(t, Quirks{})
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "63C2"}})
	require.NoError(t, c.SetPINs("9999", ""))
	assert.Equal(t, AuthMaxTries, c.TriesLeft(1))
	runSteps(t, c, []step{{wrongAuth[:10] + "39393939", "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}})
	assert.Error(t, c.SetPINs("12345", ""))
	assert.Equal(t, -1, c.TriesLeft(3))

	q := Quirks{SignSchemes: true}
	require.NoError(t, c.SetQuirks(q))
	assert.Equal(t, q, c.Quirks())
}

func TestWriteFailureAnswers6581(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	require.NoError(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, "card.json")
	require.NoError(t, newStateFile(path).save(baseState(t)))
	c, err := Open(path, Options{})
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "6581"}})
	assert.Error(t, c.Err())
}

func TestOpenContext(t *testing.T) {
	path := newTestFile(t, nil)
	ctx, err := OpenContext(path, Options{})
	require.NoError(t, err)
	defer ctx.Close()
	st, err := ctx.Readers()
	require.NoError(t, err)
	require.Equal(t, []cardos.ReaderStatus{{Name: "Myna Simulator 00 00", Present: true}}, st)
	tr, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	for _, cmd := range []string{selJPKI, selAuthPIN, wrongAuth} {
		_, err := tr.Transmit(h(cmd))
		require.NoError(t, err)
	}
	require.NoError(t, tr.Close())
	_, err = tr.Transmit(h(selJPKI))
	assert.Error(t, err, "closed transport")
	other, err := Open(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, other.TriesLeft(1), "the context's card wrote the file")
}

func TestLatencyAndTransportClose(t *testing.T) {
	const apduLatency, signLatency = 15 * time.Millisecond, 500 * time.Millisecond
	var mu sync.Mutex
	var slept []time.Duration
	record := func(d time.Duration) { mu.Lock(); slept = append(slept, d); mu.Unlock() }
	ctx, r, card := newTestContext(t, Options{LatencyAPDU: apduLatency, LatencySign: signLatency, Sleep: record})
	assert.Equal(t, "Myna Simulator 00 00", r.Name())
	tr, err := ctx.Connect(r.Name())
	require.NoError(t, err)
	require.NoError(t, tr.Begin())
	assert.Error(t, tr.Begin(), "nested Begin")
	cmds := []string{selJPKI, selAuthPIN, verifyAuth, selAuthKey, "802A00800401020304" + "00"}
	for _, cmd := range cmds {
		resp, err := tr.Transmit(h(cmd))
		require.NoError(t, err)
		require.Equal(t, []byte{0x90, 0x00}, resp[len(resp)-2:])
	}
	// Every command waits LatencyAPDU before it runs; the SIGN (the last
	// command) also waits LatencySign. The injected sleeper records the
	// waits, so no test depends on the wall clock.
	want := []time.Duration{apduLatency, apduLatency, apduLatency, apduLatency, apduLatency, signLatency}
	mu.Lock()
	assert.Equal(t, want, slept, "latencies waited, in order")
	mu.Unlock()
	// Close ends the transaction, so another transport can begin.
	require.NoError(t, tr.Close())
	other, err := ctx.Connect(r.Name())
	require.NoError(t, err)
	require.NoError(t, other.Begin())
	require.NoError(t, other.End(false))
	assert.Error(t, other.End(false), "End without Begin")
	assert.Equal(t, uint64(1), card.Stats().Signatures)
}
