package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/backend"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

func TestRenewalAndDays(t *testing.T) {
	notAfter := time.Date(2031, 4, 11, 15, 0, 0, 0, time.UTC) // 2031-04-12 00:00 JST
	tests := []struct {
		name      string
		now       time.Time
		days      int
		open      bool
		expired   bool
		toRenewal int
	}{
		{"long before", time.Date(2026, 4, 11, 15, 0, 0, 0, time.UTC), 1826, false, false, 1736},
		{"one day before renewal", time.Date(2031, 1, 10, 15, 0, 0, 0, time.UTC), 91, false, false, 1},
		{"renewal opens", time.Date(2031, 1, 11, 15, 0, 0, 0, time.UTC), 90, true, false, 0},
		{"last day", time.Date(2031, 4, 11, 3, 0, 0, 0, time.UTC), 0, true, false, 0},
		{"an hour after expiry", time.Date(2031, 4, 11, 16, 0, 0, 0, time.UTC), -1, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, "2031-01-12", day(renewalOpens(notAfter)))
			c := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: notAfter.AddDate(-5, 0, 0), NotAfter: notAfter}
			s := summarize(c, tt.now, true)
			assert.Equal(t, tt.days, s.DaysLeft)
			assert.Equal(t, tt.expired, s.Expired)
			require.NotNil(t, s.RenewalOpen)
			assert.Equal(t, tt.open, *s.RenewalOpen)
			assert.Equal(t, tt.toRenewal, *s.DaysToRenewal)
			ca := summarize(c, tt.now, false)
			assert.Nil(t, ca.RenewalOpen, "no renewal for CA certificates")
		})
	}
}

var (
	cardOnce sync.Once
	cardDir  string
	cardErr  error
)

// freshCard copies a card generated once per test binary into a new
// state file and points MYNA_PKCS11_SIM at it.
func freshCard(t *testing.T, profile sim.Profile) string {
	t.Helper()
	var c *sim.Card
	var err error
	if profile == (sim.Profile{}) {
		cardOnce.Do(func() {
			cardDir, cardErr = os.MkdirTemp("", "myna-companion-test")
			if cardErr == nil {
				_, cardErr = sim.Open(filepath.Join(cardDir, "card.json"), sim.Options{})
			}
		})
		require.NoError(t, cardErr)
		c, err = sim.Open(filepath.Join(cardDir, "card.json"), sim.Options{})
	} else {
		c, err = sim.New(sim.Options{Profile: profile})
	}
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, c.SaveAs(path))
	t.Setenv(backend.EnvSim, path)
	return path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cardDir != "" {
		os.RemoveAll(cardDir)
	}
	os.Exit(code)
}

// runCmd runs the command with stdin lines and returns stdout, stderr
// and the exit status.
func runCmd(t *testing.T, stdinLines string, args ...string) (string, string, int) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	require.NoError(t, err)
	_, err = f.WriteString(stdinLines)
	require.NoError(t, err)
	_, err = f.Seek(0, 0)
	require.NoError(t, err)
	defer f.Close()
	var out, errb bytes.Buffer
	rc := run(args, f, &out, &errb)
	return out.String(), errb.String(), rc
}

// tries reads the retry counters of the simulated card at path.
func tries(t *testing.T, path string) (int, int) {
	t.Helper()
	c, err := sim.Open(path, sim.Options{})
	require.NoError(t, err)
	return c.TriesLeft(1), c.TriesLeft(2)
}

func TestStatusJSONAndPrivacy(t *testing.T) {
	path := freshCard(t, sim.Profile{})
	out, errs, rc := runCmd(t, "", "status", "--json")
	require.Equal(t, 0, rc, errs)
	var rep statusReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Readers, 1)
	card := rep.Readers[0].Card
	require.NotNil(t, card)
	assert.Equal(t, "JPKIAPICCTOKEN2", card.TokenName)
	auth, sign := card.Keys[0], card.Keys[1]
	assert.Equal(t, pinState{TriesLeft: 3, MaxTries: 3}, auth.PIN)
	assert.Equal(t, pinState{TriesLeft: 5, MaxTries: 5}, sign.PIN)
	require.NotNil(t, auth.Certificate)
	assert.False(t, auth.Certificate.Expired)
	assert.Equal(t, certHidden, sign.CertificateState)
	assert.Nil(t, sign.Certificate)
	assert.Nil(t, card.CardExpiry)
	assert.NotContains(t, out, "見本", "the holder's name must not appear without --show-sign-cert")
	a, s := tries(t, path)
	assert.Equal(t, [2]int{3, 5}, [2]int{a, s}, "status spends no try")

	out, errs, rc = runCmd(t, "ABC123\n", "status", "--show-sign-cert", "--sign-pin-file", "-")
	require.Equal(t, 0, rc, errs)
	assert.Contains(t, out, "見本 花子")
	assert.NotContains(t, out+errs, "ABC123", "the password is never printed")
}

func TestChangePINAndPolicy(t *testing.T) {
	path := freshCard(t, sim.Profile{})
	// A malformed new PIN (or the current one again) is refused right
	// after its first entry, saying why, before the card is touched: the
	// input holds the new PIN once, so asking for it again would fail
	// with "no more input".
	for _, tc := range []struct{ key, cur, newPIN, msg string }{
		{"auth", "1234", "12", "new PIN: the authentication PIN has 2 characters, it must have exactly 4 digits; nothing was sent to the card"},
		{"auth", "1234", "12345", "new PIN: the authentication PIN has 5 characters, it must have exactly 4 digits; nothing was sent to the card"},
		{"auth", "1234", "12a4", "new PIN: the authentication PIN must be 4 digits 0-9; nothing was sent to the card"},
		{"auth", "1234", "", "new PIN: the authentication PIN has 0 characters"},
		{"auth", "1234", "1234", "the new PIN is the same as the current one; nothing was sent to the card"},
		{"sign", "ABC123", "ABC12", "new password: the signature password has 5 characters, it must have 6 to 16; nothing was sent to the card"},
		{"sign", "ABC123", "ABC-123", "new password: the signature password may only contain letters A-Z and digits 0-9; nothing was sent to the card"},
		{"sign", "ABC123", strings.Repeat("A", 17), "new password: the signature password has 17 characters"},
		{"sign", "ABC123", "abc123", "the new password is the same as the current one"},
	} {
		_, errs, rc := runCmd(t, tc.cur+"\n"+tc.newPIN+"\n", "change-pin", tc.key, "--pin-stdin", "--yes")
		assert.Equal(t, 1, rc, tc.newPIN)
		assert.Contains(t, errs, tc.msg)
		assert.NotContains(t, errs, "no more input", "asked for the new PIN again before checking it")
	}
	a, s := tries(t, path)
	assert.Equal(t, [2]int{3, 5}, [2]int{a, s})
	_, errs, rc := runCmd(t, "1234\n5678\n5679\n", "change-pin", "auth", "--pin-stdin", "--yes")
	assert.Equal(t, 1, rc)
	assert.Contains(t, errs, "the two new PINs differ; nothing was sent to the card")

	out, errs, rc := runCmd(t, "1234\n5678\n5678\n", "change-pin", "auth", "--pin-stdin", "--yes", "--json")
	require.Equal(t, 0, rc, errs)
	var res changeResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.True(t, res.Changed)
	_, errs, rc = runCmd(t, "abc123\nnew2pass\nnew2pass\n", "change-pin", "sign", "--pin-stdin", "--yes")
	require.Equal(t, 0, rc, errs)

	// Wrong current PIN twice brings the auth PIN to one try; then refuse.
	for i := 0; i < 2; i++ {
		_, _, rc = runCmd(t, "0000\n1111\n1111\n", "change-pin", "auth", "--pin-stdin", "--yes")
		assert.Equal(t, 1, rc)
	}
	a, _ = tries(t, path)
	require.Equal(t, 1, a)
	_, errs, rc = runCmd(t, "5678\n1111\n1111\n", "change-pin", "auth", "--pin-stdin", "--yes")
	assert.Equal(t, 1, rc)
	assert.Contains(t, errs, "--force-last-try")
	a, _ = tries(t, path)
	assert.Equal(t, 1, a)
	_, errs, rc = runCmd(t, "5678\n1111\n1111\n", "change-pin", "auth", "--pin-stdin", "--yes", "--force-last-try")
	assert.Equal(t, 0, rc, errs)
	a, s = tries(t, path)
	assert.Equal(t, [2]int{3, 5}, [2]int{a, s})
}

func TestFaceAuthAndExpired(t *testing.T) {
	freshCard(t, sim.Profile{FaceAuth: true})
	out, _, rc := runCmd(t, "", "status", "--json")
	require.Equal(t, 0, rc)
	var rep statusReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.True(t, rep.Readers[0].Card.FaceAuth)
	_, errs, rc := runCmd(t, "1234\n", "change-pin", "auth", "--pin-stdin")
	assert.Equal(t, 1, rc)
	assert.Contains(t, errs, "face-authentication")

	freshCard(t, sim.Profile{Expired: true})
	out, _, rc = runCmd(t, "", "status")
	require.Equal(t, 0, rc)
	assert.Contains(t, out, "EXPIRED")
	assert.Contains(t, out, "too late")
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"change-pin"}, {"change-pin", "other"}, {"status", "--pin-stdin"}, {"status", "--sign-pin-file", "x"}} {
		_, _, rc := runCmd(t, "", args...)
		assert.Equal(t, 2, rc, "%q", args)
	}
	out, _, rc := runCmd(t, "", "--help")
	assert.Equal(t, 0, rc)
	assert.Contains(t, out, "change-pin auth|sign")
}
