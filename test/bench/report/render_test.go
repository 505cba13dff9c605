package report

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/run.md from the fixture")

// testInfo is the Info every render test uses.
var testInfo = Info{
	Date:           time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC),
	Commit:         "abc1234",
	Machine:        "Linux 6.1.0 x86_64, 2 CPUs, Test CPU",
	CPUs:           2,
	OpenSCVersion:  "0.23.0-0.3+deb12u2",
	SoftHSMVersion: "2.6.1-2.1",
}

// render loads dir and renders it with testInfo.
func render(t *testing.T, dir string) Result {
	t.Helper()
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Render(d, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRenderGolden compares the whole report of the fixture with
// testdata/run.md (go test -update rewrites it; review the diff).
func TestRenderGolden(t *testing.T) {
	res := render(t, fixture)
	const golden = "testdata/run.md"
	if *update {
		if err := os.WriteFile(golden, []byte(res.Markdown), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if res.Markdown != string(want) {
		t.Errorf("the report differs from %s (go test ./test/bench/report -update, then review git diff):\n%s", golden, res.Markdown)
	}
}

// TestRenderFigures checks the figures the fixture was made for, one
// line of the report each.
func TestRenderFigures(t *testing.T) {
	md := render(t, fixture).Markdown
	for _, tc := range []struct{ what, line string }{
		{"section 1 headline", "APDUs, ours / OpenSC: a-list **0.20**, b-objects **0.34**"},
		{"section 1 row, OpenSC median of 70, 75, 75", "| d-sign-sign | 23 | 23 | 75 | 0.31 | 28 | 28 ms (27–30) | 81 ms (80–86) |"},
		{"b-objects minimum from the in-process count", "| 21 (5 + (2 + ⌈auth/256⌉ − 1) + 2×(2 + ⌈CA/256⌉)) |"},
		{"model: 21 + 13×15 ms and 90 + 64×15 ms", "| a-list | 0.22 s | 1.05 s | 0.21 |"},
		{"latency check flags +19 %", "| c-sign-auth | OpenSC | 68 | 1902 ms (1900–1904) | 1600 ms | 1.19 | **off by +19 %: the model misses a cost"},
		{"section 2 headline with the measured ratio", "measured with latency: c-sign-auth **0.44**, a-list **0.21**."},
		{"rates are medians of rounds", "medians (min–max) of 5 interleaved rounds"},
		{"rate row", "| ours, .so with the in-process simulated card | 520 (500–540) | 1.923 (1.852–2.000) |  |"},
		{"wide rate row, busy machine", "| SoftHSM2 .so | 500 (400–600) | 2.000 (1.667–2.500) | **spread 40 % of the median: machine busy (load 1.90 on 2 CPUs)** |"},
		{"overhead: median of per-round differences", "on top of the card's RSA: 0.923 (0.852–1.000) ms"},
		{"ours / SoftHSM2: median of per-round ratios", "time per signature: 0.94 (0.80–1.18)"},
		{"section 3 headline", "Ours / SoftHSM2, time per signature: **0.94**; ours / OpenSC, dlopen → first C_GetSlotList: **0.15**"},
		{"load row, wide but not busy", "| ours | 9.0 ms (8.0–10.0) | 6.9 MiB (6.8–7.0) | 1.00 | 1.00 | time **spread 22 % of the median** |"},
		{"load row, OpenSC", "| OpenSC | 60.0 ms (50.0–70.0) | 10.0 MiB (10.0–10.0) | 6.67 | 1.44 |"},
		{"section 4 headline", "Ours / SoftHSM2 per call, 1 → 1000 sessions: find **0.08** → **0.05**, get-attribute **0.04** → **0.03**."},
		{"scaling row", "| 1000 | 3.0 | 60.0 | 1.0 | 40.0 | 8.0 |"},
		{"Go benchmark line", "BenchmarkFindObjects/sessions=1-2   \t 300\t 1142 ns/op\n```"},
		{"note: OpenSC count varied", "- d-sign-sign: OpenSC's APDU count varied between its 3 runs: [70, 75] (the table shows the median)"},
		{"note: wide spread not explained by the load", "- load time, OpenSC: 60.0 ms (50.0–70.0), a spread of 33 % of the median; the load (0.60 on 2 CPUs, a 1-minute average) does not explain it"},
		{"phone headline: 0.54 s / 0.54 s and 0.86 s / 0.54 s", "ours on an Android phone / ours on the card: a-list **1.00**, b-objects **0.63**"},
		{"phone row: 31 + 19×40 + 700 ms for ours, 60 + 48×40 + 700 ms for OpenSC on the phone",
			"| c-sign-auth | 19 | 19 | 48 | 1.49 s | 1.49 s | 3.50 s | 2.68 s | 1.00 | 0.56 |"},
		{"phone row, OpenSC median of 50, 50, 52", "| d-sign-sign | 23 | 21 | 50 | 1.65 s | 1.57 s | 3.78 s | 2.78 s | 0.95 | 0.57 |"},
		{"note: OpenSC count varied on the phone", "- d-sign-sign on the phone: OpenSC's APDU count varied between its 3 runs: [50, 52]"},
		{"load header names every sample", "start 0.40, APDU counts 0.50, latency check 0.50, load time 0.60, signature rates 1.90, end 1.00, browsers 0.30 on 2 CPUs.  \n"},
	} {
		if !strings.Contains(md, tc.line) {
			t.Errorf("%s: the report lacks %q", tc.what, tc.line)
		}
	}
	for _, bad := range []string{"PROBLEM", "busy: absolute times"} {
		if strings.Contains(md, bad) {
			t.Errorf("the report says %q, the fixture has no reason to", bad)
		}
	}
}

func TestRenderBusyHeader(t *testing.T) {
	dir := copyFixture(t)
	edit(t, dir, "loadavg.txt", "APDU counts 0.50", "APDU counts 1.60")
	md := render(t, dir).Markdown
	if !strings.Contains(md, "on 2 CPUs — **busy: absolute times below are inflated") {
		t.Errorf("load 1.60 on 2 CPUs during the APDU counts is not called busy:\n%s", md[:600])
	}
}

func TestRenderProblems(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, repl, want string
	}{
		{"our count varies", "scenarios.jsonl", `{"module": "ours", "run": 2, "name": "a-list", "ms": 21, "apdus": 13`,
			`{"module": "ours", "run": 2, "name": "a-list", "ms": 21, "apdus": 14`, "a-list: our APDU count varies between runs: [13, 14]"},
		{"in-process differs", "scenarios.jsonl", `{"module": "ours-inproc", "name": "c-sign-auth", "ms": 0.3, "apdus": 19`,
			`{"module": "ours-inproc", "name": "c-sign-auth", "ms": 0.3, "apdus": 18`, "c-sign-auth: in-process 18 APDUs but 19 through pcscd"},
		{"our count varies on the phone", "scenarios.jsonl", `{"module": "ours-android", "run": 3, "name": "b-objects", "ms": 22, "apdus": 13`,
			`{"module": "ours-android", "run": 3, "name": "b-objects", "ms": 22, "apdus": 14`, "b-objects on the phone: our APDU count varies between runs: [13, 14]"},
		{"in-process differs on the phone", "scenarios.jsonl", `{"module": "ours-inproc-android", "name": "e-sign10", "ms": 12, "apdus": 77`,
			`{"module": "ours-inproc-android", "name": "e-sign10", "ms": 12, "apdus": 93`, "e-sign10 on the phone: in-process 93 APDUs but 77 through pcscd"},
	} {
		dir := copyFixture(t)
		edit(t, dir, tc.file, tc.old, tc.repl)
		res := render(t, dir)
		if len(res.Problems) != 1 || res.Problems[0] != tc.want {
			t.Errorf("%s: Problems = %q, want [%q]", tc.name, res.Problems, tc.want)
		}
		if !strings.Contains(res.Markdown, "- PROBLEM: "+tc.want) || !strings.Contains(res.Summary, "PROBLEM: "+tc.want) {
			t.Errorf("%s: the PROBLEM is not in both the report and the summary", tc.name)
		}
	}
}

func TestRenderMissingScenario(t *testing.T) {
	for _, module := range []string{"ours-inproc", "ours-inproc-android"} {
		dir := copyFixture(t)
		edit(t, dir, "scenarios.jsonl", `{"module": "`+module+`", "name": "e-sign10"`, `{"module": "other", "name": "e-sign10"`)
		d, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Render(d, testInfo); err == nil || !strings.Contains(err.Error(), "e-sign10") {
			t.Errorf("Render without the %s e-sign10 run: err %v, want one naming e-sign10", module, err)
		}
	}
}

func TestSummary(t *testing.T) {
	sum := render(t, fixture).Summary
	for _, line := range []string{
		"APDUs (ours in-process / ours via pcscd / OpenSC, ratio):\n  a-list         13   13   64   ours/OpenSC 0.20\n",
		"  e-sign10       6.22 s   6.32 s   ratio 0.99\n",
		"  b-objects      13   40     0.86 s   0.54 s   2.56 s   1.66 s   ours phone/card 0.63, phone ours/OpenSC 0.33\n",
		"Signatures/s (median of 5 rounds): raw sim 1000, ours .so 520, SoftHSM2 500  (ours/SoftHSM2 1.06); overhead on the card's RSA 0.923 ms\n",
		"Load opensc     60.0 ms  RSS  10.0 MiB  (/ours 6.67, 1.44)\n",
		"Browsers, idle APDUs/min (median, ours / OpenSC): firefox not logged in 0 / 12 (max 0 / 13), logged in 0 / 30 (max 4 / 30);",
		"Browsers, login (median, ours / OpenSC): firefox to the first dialog 0.81 / 1.65 s (0.49), to the PIN dialog 0.81 / 1.65 s (0.49), PIN → page 1.43 / 2.10 s (0.68);",
	} {
		if !strings.Contains(sum, line) {
			t.Errorf("the summary lacks %q:\n%s", line, sum)
		}
	}
}
