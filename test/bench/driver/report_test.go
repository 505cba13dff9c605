package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is test/bench/report's bench directory of made-up figures.
const fixture = "../report/testdata/run"

// copyDir copies the files of src to a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestRunReportExitCodes(t *testing.T) {
	problem := copyDir(t, fixture)
	p := filepath.Join(problem, "scenarios.jsonl")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"ms": 21, "apdus": 13`, `"ms": 21, "apdus": 14`, 1))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fixed := []string{"-machine", "m", "-cpus", "2", "-commit", "c", "-opensc-version", "o", "-softhsm-version", "s"}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"clean run", []string{"-dir", fixture}, 0},
		{"our APDU count varies: PROBLEM", []string{"-dir", problem}, 1},
		{"no such directory", []string{"-dir", filepath.Join(t.TempDir(), "none")}, 1},
		{"no -dir", nil, 2},
	} {
		out := filepath.Join(t.TempDir(), "PERFORMANCE.md")
		args := append(append(tc.args, "-out", out), fixed...)
		if got := runReport(args); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
		if _, err := os.Stat(out); (err == nil) != (tc.want != 2 && tc.name != "no such directory") {
			t.Errorf("%s: report written: %v", tc.name, err == nil)
		}
	}
}
