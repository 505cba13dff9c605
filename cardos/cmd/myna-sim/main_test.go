package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/diag"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestInitStatusExportAdminReset(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "card.json")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"--state", state, "--init", "--name", "試験 一郎"}, &out, &errb), errb.String())
	assert.Equal(t, 1, run([]string{"--state", state, "--init"}, &out, &errb), "refuses to overwrite")
	assert.Contains(t, errb.String(), "--force")

	out.Reset()
	require.Equal(t, 0, run([]string{"--state", state, "--status"}, &out, &errb))
	s := out.String()
	assert.Contains(t, s, "auth PIN:        3 of 3 tries left")
	assert.Contains(t, s, "sign password:   5 of 5 tries left")
	assert.Contains(t, s, "OU=JPKI for user authentication,O=JPKI,C=JP")
	assert.Contains(t, s, "personal data not shown")
	assert.NotContains(t, s, "試験", "never print the holder's name")
	assert.Contains(t, s, "text-pin:        3 of 3 tries left (券面事項入力補助AP PIN)")
	assert.Contains(t, s, "visual-code-b:   10 of 10 tries left (券面事項確認AP 照合番号B)")
	assert.Contains(t, s, "text-0012:       BLOCKED (0 of 0 tries left)")
	assert.NotContains(t, s, "123456789010", "never print the (fictional) My Number")

	exp := filepath.Join(dir, "certs")
	require.Equal(t, 0, run([]string{"--state", state, "--export-certs", exp}, &out, &errb))
	for _, f := range []string{"auth-cert.pem", "auth-ca.pem", "sign-ca.pem"} {
		assert.FileExists(t, filepath.Join(exp, f))
	}
	assert.NoFileExists(t, filepath.Join(exp, "sign-cert.pem"))
	require.Equal(t, 0, run([]string{"--state", state, "--export-certs", exp, "--include-sign-cert"}, &out, &errb))
	assert.FileExists(t, filepath.Join(exp, "sign-cert.pem"))

	// Lock the text AP PIN, see it in --status, unlock it with --admin-reset.
	card, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	for _, cmd := range []string{"00A4040C0AD3921000310001010408", "00A4020C020011", "002000800439393939", "002000800439393939", "002000800439393939"} {
		card.Process(mustHex(cmd))
	}
	out.Reset()
	require.Equal(t, 0, run([]string{"--state", state, "--status"}, &out, &errb))
	assert.Contains(t, out.String(), "text-pin:        BLOCKED (0 of 3 tries left)")
	out.Reset()
	require.Equal(t, 0, run([]string{"--state", state, "--admin-reset"}, &out, &errb))
	assert.Contains(t, out.String(), "unlocked: auth PIN 3 tries, sign password 5 tries")
	assert.Contains(t, out.String(), "text-pin 3 tries")
	out.Reset()
	require.Equal(t, 0, run([]string{"--state", state, "--status"}, &out, &errb))
	assert.Contains(t, out.String(), "text-pin:        3 of 3 tries left")
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errb))
	assert.Contains(t, errb.String(), "--state FILE is required")
	errb.Reset()
	assert.Equal(t, 2, run([]string{"--state", "x", "--status", "--admin-reset"}, &out, &errb))
	assert.Contains(t, errb.String(), "exactly one of")
	errb.Reset()
	missing := filepath.Join(t.TempDir(), "missing.json")
	assert.Equal(t, 1, run([]string{"--state", missing, "--status"}, &out, &errb))
	assert.Contains(t, errb.String(), "create it with --init")
	_, err := os.Stat(missing)
	assert.True(t, os.IsNotExist(err), "--status does not create a card")
	errb.Reset()
	assert.Equal(t, 1, run([]string{"--state", missing, "--init", "--auth-pin", "12"}, &out, &errb))
	assert.Contains(t, errb.String(), "exactly 4 digits")
	errb.Reset()
	assert.Equal(t, 1, run([]string{"--state", missing, "--vpcd", "127.0.0.1:1", "--fault-on-usr2"}, &out, &errb))
	assert.Contains(t, errb.String(), "--fault-on-usr2 needs --fault")
}

// --init --profile stores the reported card's blocked-query answer and
// counters; a malformed report is refused.
func TestInitWithProfile(t *testing.T) {
	dir := t.TempDir()
	rep := &diag.Report{Format: diag.ReportFormat,
		Readers: []diag.ReaderReport{{Name: "R", Present: true, ATR: "3BC5FF8131FB458073C6010000"}},
		APDUs: []diag.APDU{
			{Reader: "R", Command: "SELECT EF", Target: "0018", SW: "9000"}, {Reader: "R", Command: "tries query", SW: "63C1"},
			{Reader: "R", Command: "SELECT EF", Target: "001B", SW: "9000"}, {Reader: "R", Command: "tries query", SW: "6984"},
		}}
	report := filepath.Join(dir, "report.json")
	require.NoError(t, rep.WriteFile(report))
	state := filepath.Join(dir, "card.json")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"--state", state, "--init", "--profile", report}, &out, &errb), errb.String())
	assert.Contains(t, errb.String(), "ATR 3BC5FF8131FB458073C6010000, blocked query 6984, auth tries 1, sign tries 0")
	c, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, c.TriesLeft(1))
	assert.Equal(t, 0, c.TriesLeft(2))
	assert.Equal(t, apdu.SWRefDataBlocked, c.Quirks().BlockedQuerySW)
	require.NoError(t, os.WriteFile(report, []byte("{}"), 0o644))
	assert.Equal(t, 1, run([]string{"--state", filepath.Join(dir, "b.json"), "--init", "--profile", report}, &out, &errb))
	assert.Contains(t, errb.String(), "report format 0")
}

// The quirk flags of the unknowns reach the state file; a bad value is refused.
func TestUnknownQuirkFlags(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	state := filepath.Join(dir, "card.json")
	require.Equal(t, 0, run([]string{"--state", state, "--init", "--sign-max-tries", "10", "--change-stores", "keeps-old", "--change-needs-old"}, &out, &errb), errb.String())
	c, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	assert.Equal(t, sim.Quirks{SignMaxTries: 10, ChangeStores: sim.ChangeKeepsOld, ChangeNeedsOld: true}, c.Quirks())
	assert.Equal(t, 10, c.TriesLeft(2))
	for _, bad := range [][]string{{"--sign-max-tries", "16"}, {"--change-stores", "maybe"}} {
		assert.Equal(t, 1, run(append([]string{"--state", filepath.Join(dir, "b.json"), "--init"}, bad...), &out, &errb), bad)
	}
}

// --device picks the credential and, for a phone, a contactless latency
// unless --latency-apdu was given; the phone quirk flags reach the state
// file.
func TestDeviceFlags(t *testing.T) {
	for _, tc := range []struct {
		cfg     config
		device  sim.Device
		latency time.Duration
		bad     bool
	}{
		{config{}, sim.DeviceCard, 0, false},
		{config{device: "card"}, sim.DeviceCard, 0, false},
		{config{device: "android"}, sim.DeviceAndroid, sim.PhoneLatencyAPDU, false},
		{config{device: "iphone", latencySet: true}, sim.DeviceIPhone, 0, false},
		{config{device: "pixel"}, 0, 0, true},
		{config{device: "iphone", phoneEnd: "sometimes"}, 0, 0, true},
	} {
		opt, err := tc.cfg.options()
		if tc.bad {
			assert.Error(t, err, tc.cfg.device)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.device, opt.Device)
		assert.Equal(t, tc.latency, opt.LatencyAPDU, tc.cfg.device)
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	state := filepath.Join(dir, "card.json")
	require.Equal(t, 0, run([]string{"--state", state, "--init", "--phone-sign-cert-free", "--phone-cas-behind-pin",
		"--iphone-auth-cert-free", "--phone-routes-all-aids", "--phone-end", "removes"}, &out, &errb), errb.String())
	c, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	assert.Equal(t, sim.Quirks{PhoneSignCertFree: true, PhoneCAsBehindPIN: true, IPhoneAuthCertFree: true, PhoneRoutesAllAIDs: true, PhoneEnd: sim.EndRemoves}, c.Quirks())
}
