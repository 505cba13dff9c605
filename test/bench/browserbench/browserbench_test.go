package browserbench

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSub(t *testing.T) {
	tests := []struct {
		name          string
		before, after Stats
		want          Stats
	}{
		{"nothing moved", Stats{APDUs: 5, ByINS: map[string]uint64{"A4": 5}}, Stats{APDUs: 5, ByINS: map[string]uint64{"A4": 5}},
			Stats{ByINS: map[string]uint64{}}},
		{"only the instructions that moved", Stats{APDUs: 5, ByINS: map[string]uint64{"A4": 3, "B0": 2}},
			Stats{APDUs: 9, Verifies: 1, Signatures: 1, ByINS: map[string]uint64{"A4": 5, "B0": 2, "20": 1, "2A": 1}},
			Stats{APDUs: 4, Verifies: 1, Signatures: 1, ByINS: map[string]uint64{"A4": 2, "20": 1, "2A": 1}}},
		{"from an empty file", Stats{}, Stats{APDUs: 1, ByINS: map[string]uint64{"CA": 1}},
			Stats{APDUs: 1, ByINS: map[string]uint64{"CA": 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.after.Sub(tt.before)) })
	}
}

// writeStats writes a stats file as myna-sim does.
func writeStats(t *testing.T, path string, st Stats) {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func readLines(t *testing.T, path string) []Idle {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []Idle
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l Idle
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line %q", sc.Text())
		out = append(out, l)
	}
	return out
}

// The idler writes one line per phase and per interval, each with the
// APDUs since the previous line, counted from the base copy.
func TestIdlerLines(t *testing.T) {
	dir := t.TempDir()
	stats, base, out := filepath.Join(dir, "stats.json"), filepath.Join(dir, "base.json"), filepath.Join(dir, "idle.jsonl")
	writeStats(t, base, Stats{APDUs: 10, ByINS: map[string]uint64{"A4": 10}})
	writeStats(t, stats, Stats{APDUs: 14, ByINS: map[string]uint64{"A4": 12, "B0": 2}})
	m, err := NewMeter(stats, base)
	require.NoError(t, err)
	f := &Flags{Browser: "firefox", Module: "ours", IdleOut: out, IdleMinutes: 2, IdleInterval: 30 * time.Millisecond}
	ticks := 0
	i := &Idler{F: f, Meter: m, Tick: func() error {
		ticks++
		if ticks == 1 { // the card moves during the first interval only
			writeStats(t, stats, Stats{APDUs: 17, ByINS: map[string]uint64{"A4": 12, "B0": 2, "CA": 3}})
		}
		return nil
	}}
	_, err = i.Phase(PhaseStartup)
	require.NoError(t, err)
	require.NoError(t, i.Sit(PhaseNotLoggedIn))
	assert.Equal(t, []Idle{
		{Browser: "firefox", Module: "ours", Phase: PhaseStartup, APDUs: 4, ByINS: map[string]uint64{"A4": 2, "B0": 2}},
		{Browser: "firefox", Module: "ours", Phase: PhaseNotLoggedIn, Minute: 1, APDUs: 3, ByINS: map[string]uint64{"CA": 3}},
		{Browser: "firefox", Module: "ours", Phase: PhaseNotLoggedIn, Minute: 2, ByINS: map[string]uint64{}},
	}, readLines(t, out))
	assert.Positive(t, ticks)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		f    Flags
		ok   bool
	}{
		{"no benchmark", Flags{}, true},
		{"dialog", Flags{DialogOut: "d", Stats: "s", Module: "ours"}, true},
		{"dialog without stats", Flags{DialogOut: "d", Module: "ours"}, false},
		{"idle without a page", Flags{IdleOut: "i", Stats: "s", Module: "ours", IdleMinutes: 1}, false},
		{"idle", Flags{IdleOut: "i", Stats: "s", Module: "ours", IdleURL: "https://127.0.0.1:1/", IdleMinutes: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.ok, tt.f.Check() == nil, "%v", tt.f.Check()) })
	}
}

func TestReadPINs(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"one PIN", "1234\n", []string{"1234"}},
		{"no final newline", "1234", []string{"1234"}},
		{"a malformed PIN, then the right one", "12a4\r\n1234\n", []string{"12a4", "1234"}},
		{"an empty PIN first", "\n1234\n", []string{"", "1234"}},
		{"only an empty PIN", "\n", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "pins")
			require.NoError(t, os.WriteFile(p, []byte(tt.file), 0o600))
			got, err := ReadPINs(p)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	p := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(p, nil, 0o600))
	_, err := ReadPINs(p)
	assert.ErrorContains(t, err, "holds no PIN")
}
