package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

func readStats(t *testing.T, path string) FileStats {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var st FileStats
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

// The stats file follows the card's own counters after every response,
// and never holds the PIN.
func TestStatsFileCountsAPDUs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.json")
	w, err := newStatsWriter(path, nil)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), readStats(t, path).APDUs, "written at start")

	card, err := sim.New(sim.Options{Trace: w})
	require.NoError(t, err)
	for _, cmd := range [][]byte{
		{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01},
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18},
		{0x00, 0x20, 0x00, 0x80},                           // retry query
		{0x00, 0x20, 0x00, 0x80, 0x04, '1', '2', '3', '4'}, // VERIFY with the PIN
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17},
		{0x80, 0x2A, 0x00, 0x80, 0x03, 1, 2, 3, 0x00},
		{0x80, 0x2A, 0x00, 0x80, 0x00}, // refused (no data)
	} {
		require.NotNil(t, card.Process(cmd))
	}
	got := readStats(t, path)
	want := card.Stats()
	assert.Equal(t, want.APDUs, got.APDUs)
	assert.Equal(t, uint64(7), got.APDUs)
	assert.Equal(t, uint64(3), got.ByINS["A4"])
	assert.Equal(t, uint64(2), got.ByINS["20"])
	assert.Equal(t, uint64(2), got.ByINS["2A"])
	assert.Equal(t, want.Verifies, got.Verifies)
	assert.Equal(t, want.Signatures, got.Signatures)
	assert.Equal(t, uint64(1), got.Signatures)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "31323334", "the PIN never reaches the file")
}

func TestStatsFileFlagNeedsWritableDir(t *testing.T) {
	var out, errb = &discard{}, &discard{}
	cfg := config{stdout: out, stderr: errb, vpcd: "127.0.0.1:1", statsFile: filepath.Join(t.TempDir(), "no", "such", "dir", "s.json")}
	_, err := cfg.options()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--stats-file")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
