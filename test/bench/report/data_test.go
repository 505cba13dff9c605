package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a complete bench directory with small, made-up figures.
const fixture = "testdata/run"

// copyFixture copies the fixture to a temporary directory, without the
// files in drop, and returns it.
func copyFixture(t *testing.T, drop ...string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, e := range entries {
		for _, d := range drop {
			if e.Name() == d {
				continue next
			}
		}
		b, err := os.ReadFile(filepath.Join(fixture, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// edit replaces old by repl in dir/name; old must be there.
func edit(t *testing.T, dir, name, old, repl string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", name, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, repl, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	d, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what      string
		got, want int
	}{
		{"scenario runs (5 × (1 + 3 + 3) on the card, 5 × (1 + 3 + 3) on the phone)", len(d.Scenarios), 70},
		{"latency runs", len(d.Latency), 20},
		{"load samples", len(d.Loads), 7},
		{"rate rounds, ours", len(d.RateOurs), 5},
		{"rate rounds, in-process", len(d.RateInProc), 5},
		{"rate rounds, SoftHSM2", len(d.RateSoftHSM), 5},
		{"load runs", len(d.LoadRuns), 9},
		{"scale points", len(d.ScaleOurs), 2},
		{"Benchmark lines", len(d.GoBench), 1},
		{"browser info", len(d.Browsers.Info), 2},
		{"browser dialog rounds", len(d.Browsers.Dialog), 12},
		{"browser idle lines", len(d.Browsers.Idle), 32},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, tc.got, tc.want)
		}
	}
	if got, want := d.Loads[1], (LoadSample{"APDU counts", 0.5, 0.5, 0.6}); got != want {
		t.Errorf("load sample with a two-word label: %+v, want %+v", got, want)
	}
	if got, want := d.LoadRuns[1], (LoadRun{"opensc", 50000, 10240, 2}); got != want {
		t.Errorf("load.txt line 2: %+v, want %+v", got, want)
	}
	if got := d.GoBench[0]; strings.HasSuffix(got, " ") || !strings.HasPrefix(got, "BenchmarkFindObjects") {
		t.Errorf("Benchmark line %q: want it without trailing space", got)
	}
	if got := d.RateInProc[0].RawSim.PerSecond; got != 1000 {
		t.Errorf("raw_sim per_second = %v, want 1000", got)
	}
	if got := d.Browsers.Idle[len(d.Browsers.Idle)-1]; got.Phase != PhaseLoggedIn || got.Minute != 3 {
		t.Errorf("last idle line: %+v", got)
	}
}

func TestLoadWithoutBrowsers(t *testing.T) {
	d, err := Load(copyFixture(t, browserInfoFile, browserDialogFile, browserIdleFile))
	if err != nil {
		t.Fatal(err)
	}
	if d.Browsers != nil {
		t.Errorf("Browsers = %+v, want nil without browser files", d.Browsers)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		want string
	}{
		{"missing file", func(t *testing.T) string { return copyFixture(t, "load.txt") }, "load.txt"},
		{"bad JSON line", func(t *testing.T) string {
			d := copyFixture(t)
			edit(t, d, "latency.jsonl", `{"module"`, `{module`)
			return d
		}, "latency.jsonl line 1"},
		{"short load.txt line", func(t *testing.T) string {
			d := copyFixture(t)
			edit(t, d, "load.txt", "ours 8000 7000 2", "ours 8000")
			return d
		}, "load.txt line 1"},
		{"bad load average", func(t *testing.T) string {
			d := copyFixture(t)
			edit(t, d, "loadavg.txt", "start 0.40", "start x")
			return d
		}, "loadavg.txt line 1"},
		{"bad browser line", func(t *testing.T) string {
			d := copyFixture(t)
			edit(t, d, browserIdleFile, `"apdus": 12`, `"apdus": "12"`)
			return d
		}, browserIdleFile},
	} {
		_, err := Load(tc.dir(t))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}
