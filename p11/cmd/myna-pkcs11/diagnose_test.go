package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/diag"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// atr02 is "JPKI (02)" of cardos/jpki/FACTS.md §10.1, not the simulator's default.
var atr02, _ = hex.DecodeString("3BDA13FF8131FB468012392F31C173C601C03B")

// simDiagnose runs the probe on the card in state file path opened with
// opt, signing with the auth PIN and logging in to the sign token with
// the password when they are not empty.
func simDiagnose(t *testing.T, path string, opt sim.Options, apply func(*sim.Card), pin, password string) *diag.Report {
	t.Helper()
	c, err := sim.Open(path, opt)
	require.NoError(t, err)
	if apply != nil {
		apply(c)
	}
	r := sim.NewReader("Virtual PCD 00 00")
	r.Insert(c)
	var ask asks
	if pin != "" {
		ask.authPIN = func() ([]byte, error) { return []byte(pin), nil }
	}
	if password != "" {
		ask.signPassword = func() ([]byte, error) { return []byte(password), nil }
	}
	return diagnose(sim.NewContext(r), "simulator", diagOptions{includePublic: true}, ask)
}

// comparable is a report without timing, dates or host details: what a
// card and the module did.
type comparable struct {
	ATR    string
	APDUs  []diag.APDU
	Steps  []diag.Step
	Tokens []diag.TokenReport
}

func strip(r *diag.Report) comparable {
	c := comparable{Steps: r.Steps, Tokens: r.Tokens}
	for _, rd := range r.Readers {
		c.ATR += rd.ATR
	}
	for _, a := range r.APDUs {
		a.AtMS, a.DurMS = 0, 0
		c.APDUs = append(c.APDUs, a)
	}
	return c
}

// A simulated card with non-default behaviour → diagnose → a fresh
// simulator loaded with the report → the module sends the same APDUs,
// gets the same status words and lengths, and reaches the same PKCS#11
// results. Without the report the fresh simulator differs (so the
// comparison can fail).
func TestDiagnoseProfileRoundTrip(t *testing.T) {
	base := freshCard(t, sim.Profile{})
	dir := t.TempDir()
	copyFile := func(name string) string {
		b, err := os.ReadFile(base)
		require.NoError(t, err)
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	quirky := sim.Options{ATR: atr02, MaxResponse: 200, LatencyAPDU: time.Millisecond, LatencySign: 20 * time.Millisecond}
	want := simDiagnose(t, copyFile("quirky.json"), quirky, func(c *sim.Card) {
		q := c.Quirks()
		q.BlockedQuerySW = apdu.SWRefDataBlocked
		q.ReselectClearsPINs = true
		require.NoError(t, c.SetQuirks(q))
		require.NoError(t, c.SetTriesLeft(1, 2)) // auth: 2 of 3
		require.NoError(t, c.SetTriesLeft(2, 0)) // sign: blocked
	}, sim.DefaultAuthPIN, "")
	require.Contains(t, strings.Join(want.Conclusions, "\n"), "6984", want.Conclusions)
	require.Len(t, want.Tokens, 2)
	for _, tr := range want.Tokens {
		assert.Equal(t, cardos.KindCard.String(), tr.Credential, "the report names the credential")
	}
	path := filepath.Join(dir, "report.json")
	require.NoError(t, want.WriteFile(path))

	rep, err := diag.ReadReport(path)
	require.NoError(t, err)
	b, err := rep.Behaviour()
	require.NoError(t, err)
	t.Logf("behaviour: %s", b)
	assert.Equal(t, atr02, b.ATR)
	assert.Equal(t, 200, b.MaxResponse)
	assert.Equal(t, apdu.SWRefDataBlocked, b.BlockedQuerySW)
	assert.Equal(t, 2, b.AuthTries)
	assert.Equal(t, 0, b.SignTries)
	assert.GreaterOrEqual(t, b.LatencySign, 10*time.Millisecond, "per-signature latency seen")
	require.NotNil(t, b.ReselectClearsPINs, "the re-select probe's answer is in the APDUs")
	assert.True(t, *b.ReselectClearsPINs)

	got := simDiagnose(t, copyFile("fresh.json"), b.Options(sim.Options{}), func(c *sim.Card) { require.NoError(t, b.Apply(c)) }, sim.DefaultAuthPIN, "")
	assert.Equal(t, strip(want), strip(got))

	plain := simDiagnose(t, copyFile("plain.json"), sim.Options{}, nil, sim.DefaultAuthPIN, "")
	assert.NotEqual(t, strip(want), strip(plain), "a default simulator behaves differently")
}

// secretForms lists the ways a secret could show up: as is, upper and
// lower case, and the hex of its bytes (both cases, spaced or not).
func secretForms(s string) []string {
	forms := []string{s, strings.ToLower(s), strings.ToUpper(s)}
	h := hex.EncodeToString([]byte(s))
	forms = append(forms, h, strings.ToUpper(h))
	var sp []string
	for i := 0; i+1 < len(h); i += 2 {
		sp = append(sp, h[i:i+2])
	}
	return append(forms, strings.Join(sp, " "), strings.ToUpper(strings.Join(sp, " ")))
}

// The report made with every option (--include-public --sign) and the
// summary hold no PIN in any form and no personal field of the
// signature certificate, nor any chunk of the certificate itself.
func TestDiagnoseReportIsPrivate(t *testing.T) {
	path := freshCard(t, sim.Profile{})
	out := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, rc := runCmd(t, sim.DefaultAuthPIN+"\n"+sim.DefaultSignPIN+"\n", "diagnose", "--include-public", "--sign", "--sign-password", "--pin-stdin", "--out", out)
	require.Equal(t, 0, rc, stderr)
	report, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, stdout, "C_SignInit+C_Sign(CKM_SHA256_RSA_PKCS) CKR_OK")
	assert.Regexp(t, `C_Login\(sign\) +CKR_OK`, stdout)
	assert.Contains(t, string(report), `"data": "3082`, "--include-public keeps the certificate headers")

	c, err := sim.Open(path, sim.Options{})
	require.NoError(t, err)
	p := c.Profile()
	var secrets []string
	for _, s := range []string{sim.DefaultAuthPIN, sim.DefaultSignPIN, p.Name, p.Address, strings.ReplaceAll(p.BirthDate, "-", ""), p.BirthDate} {
		secrets = append(secrets, secretForms(s)...)
	}
	sign := c.Certificates().SignCert
	for off := 0; off+16 <= len(sign); off += 16 {
		secrets = append(secrets, hex.EncodeToString(sign[off:off+16]), strings.ToUpper(hex.EncodeToString(sign[off:off+16])))
	}
	for _, where := range []struct{ name, text string }{{"report", string(report)}, {"summary", stdout + stderr}} {
		for _, s := range secrets {
			assert.NotContains(t, where.text, s, "%s must not contain a secret or personal field", where.name)
		}
	}
	t.Logf("report of %d bytes checked against %d secret forms", len(report), len(secrets))
}

// With --json the report goes to standard output as well (for scripts),
// the same JSON as the file, and no summary.
func TestDiagnoseJSON(t *testing.T) {
	freshCard(t, sim.Profile{})
	out := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, rc := runCmd(t, "", "diagnose", "--json", "--out", out)
	require.Equal(t, 0, rc, stderr)
	file, err := os.ReadFile(out)
	require.NoError(t, err)
	var fromStdout, fromFile map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &fromStdout), "stdout is the JSON report: %q", stdout)
	require.NoError(t, json.Unmarshal(file, &fromFile))
	assert.Equal(t, fromFile, fromStdout)
	assert.NotContains(t, stdout, "Report written to")
}

// The re-select probe reports what the card does, sends a PIN only while
// every try is left, and never leaves the card verified.
func TestReselectProbe(t *testing.T) {
	tests := []struct {
		name   string
		clears bool
		tries  int
		detail string
		want   *bool
	}{
		{"keeps", false, 3, "again keeps a verified PIN", new(false)},
		{"drops", true, 3, "again drops a verified PIN", new(true)},
		{"a try already spent", false, 2, "skipped: the card shows 2 tries left", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sim.Open(freshCard(t, sim.Profile{}), sim.Options{})
			require.NoError(t, err)
			q := c.Quirks()
			q.ReselectClearsPINs = tt.clears
			require.NoError(t, c.SetQuirks(q))
			require.NoError(t, c.SetTriesLeft(1, tt.tries))
			r := sim.NewReader("Virtual PCD 00 00")
			r.Insert(c)
			rec := diag.NewRecorder(false)
			ctx := rec.Context(sim.NewContext(r))
			p := &probe{rep: &diag.Report{Readers: readerReports(ctx, "")}, rec: rec, ctx: ctx}
			p.reselectProbe("Virtual PCD 00 00", []byte(sim.DefaultAuthPIN))
			require.Len(t, p.rep.Steps, 1)
			assert.Equal(t, "CKR_OK", p.rep.Steps[0].Result)
			assert.Contains(t, p.rep.Steps[0].Detail, tt.detail)
			p.rep.APDUs = rec.APDUs()
			b, err := p.rep.Behaviour()
			require.NoError(t, err)
			assert.Equal(t, tt.want, b.ReselectClearsPINs)

			tr, err := sim.NewContext(r).Connect("Virtual PCD 00 00")
			require.NoError(t, err)
			defer tr.Close()
			_, err = jpki.NewClient(tr).Sign(cardos.AuthKey, pkcs1.SHA256([]byte("any text")))
			require.ErrorIs(t, err, cardos.ErrPINRequired, "the probe left the card verified")
			n, err := jpki.NewClient(tr).TriesLeft(cardos.AuthKey)
			require.NoError(t, err)
			assert.Equal(t, tt.tries, n, "no try spent")
		})
	}
}

// diagnose --sign --sign-password on a simulated card with each unknown
// switched reports the switched behaviour, and a simulator given the
// report (myna-sim --profile) behaves the same way. No try is spent.
func TestDiagnoseMeasuresUnknowns(t *testing.T) {
	for _, tt := range []struct {
		name  string
		q     sim.Quirks
		check func(t *testing.T, b diag.Behaviour)
	}{
		{"leave forgets", sim.Quirks{}, func(t *testing.T, b diag.Behaviour) {
			require.NotNil(t, b.LeaveKeepsPINs)
			assert.False(t, *b.LeaveKeepsPINs)
			assert.Equal(t, 5, b.SignFullTries)
			assert.Equal(t, 3, b.AuthFullTries)
		}},
		{"leave keeps", sim.Quirks{LeaveKeepsPINs: true}, func(t *testing.T, b diag.Behaviour) {
			require.NotNil(t, b.LeaveKeepsPINs)
			assert.True(t, *b.LeaveKeepsPINs)
		}},
		{"sign counter 10", sim.Quirks{SignMaxTries: 10}, func(t *testing.T, b diag.Behaviour) {
			assert.Equal(t, 10, b.SignFullTries)
		}},
		{"sign counter 3", sim.Quirks{SignMaxTries: 3}, func(t *testing.T, b diag.Behaviour) {
			assert.Equal(t, 3, b.SignFullTries)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := freshCard(t, sim.Profile{})
			set := func(c *sim.Card) {
				require.NoError(t, c.SetQuirks(tt.q))
				require.NoError(t, c.AdminReset())
			}
			rep := simDiagnose(t, path, sim.Options{}, set, sim.DefaultAuthPIN, sim.DefaultSignPIN)
			b, err := rep.Behaviour()
			require.NoError(t, err)
			t.Logf("behaviour: %s", b)
			tt.check(t, b)
			c, err := sim.Open(path, sim.Options{})
			require.NoError(t, err)
			wantSign := sim.SignMaxTries
			if tt.q.SignMaxTries != 0 {
				wantSign = tt.q.SignMaxTries
			}
			assert.Equal(t, [2]int{sim.AuthMaxTries, wantSign}, [2]int{c.TriesLeft(1), c.TriesLeft(2)}, "no try spent")

			replay, err := sim.New(sim.Options{})
			require.NoError(t, err)
			require.NoError(t, b.Apply(replay))
			assert.Equal(t, tt.q.LeaveKeepsPINs, replay.Quirks().LeaveKeepsPINs)
			if tt.q.SignMaxTries != 0 {
				assert.Equal(t, tt.q.SignMaxTries, replay.Quirks().SignMaxTries)
			}
		})
	}
}
