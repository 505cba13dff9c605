package report

import (
	"strings"
	"testing"
)

func TestBrowsers(t *testing.T) {
	res := render(t, fixture)
	md := res.Markdown
	for _, tc := range []struct{ what, line string }{
		{"section", "\n## 5. Browsers\n"},
		{"headline", "Idle APDUs per minute (median), ours / OpenSC: firefox not logged in **0 / 12** (max 0 / 13), logged in **0 / 30** (max 4 / 30)"},
		{"headline, dialog ratio", "Time to the first password dialog, ours / OpenSC: firefox **0.49**, chromium **0.78**; to the PIN dialog: firefox **0.49**, chromium **0.47**; PIN → page: firefox **0.68**"},
		{"versions", "firefox: Mozilla Firefox 153.8.0esr; chromium: Chromium 140.0.1."},
		{"idle row, ours with an idle APDU flagged", "| firefox | ours | 12 | 20 | 0 | 0 | 0 over 3 min | 0 | 4 | 4 over 3 min | **polling while idle, logged in: minute 2 (4: A4 2, B0 2)** |"},
		{"idle row, OpenSC side by side", "| firefox | OpenSC | 70 | 80 | 12 | 13 | 37 over 3 min | 30 | 30 | 90 over 3 min | polling while idle, not logged in: minute 1 (12: A4 12)"},
		{"idle row, ours: a signature is listed, not flagged", "| chromium | ours | 12 | 20 | 0 | 0 | 0 over 3 min | 0 | 7 | 7 over 3 min | a new TLS connection signed, logged in: minute 3 (7: 20 2, 2A 1, A4 4) |"},
		{"latency model named", "`myna-sim --latency-apdu 15ms --latency-sign 500ms`"},
		{"dialog row", "| firefox | 0.81 s (0.80–0.82) | 1.65 s (1.60–1.70) | 0.49 | 0.81 s (0.80–0.82) | 1.65 s (1.60–1.70) | 0.49 | 1.43 s (1.40–1.45) | 2.10 s (2.00–2.20) | 0.68 | 37 | 120 | 0, 0, 0 | 2, 2, 2 |  |"},
		{"dialog row with a wide spread and two dialogs", "| chromium | 0.70 s (0.70–1.00) | 0.90 s (0.90–0.90) | 0.78 | 0.70 s (0.70–1.00) | 1.50 s (1.50–1.50) | 0.47 | 1.20 s (1.20–1.20) | 1.80 s (1.80–1.80) | 0.67 | 40 | 110 | 0, 0, 0 | 2, 2, 2 | ours to PIN dialog **spread 43 % of the median**; **ours round 2: 2 PIN dialogs** |"},
		{"note: idle APDU of ours", "- firefox ours, logged in: APDUs without a signature in idle minute 2 (4: A4 2, B0 2) (the goal is 0 per idle minute)"},
		{"note: two dialogs", "- chromium ours round 2: 2 PIN dialogs, not one"},
	} {
		if !strings.Contains(md, tc.line) {
			t.Errorf("%s: the report lacks %q", tc.what, tc.line)
		}
	}
	if len(res.Problems) != 0 {
		t.Errorf("idle APDUs are notes, not problems: %q", res.Problems)
	}
}

func TestBrowsersAbsent(t *testing.T) {
	res := render(t, copyFixture(t, browserInfoFile, browserDialogFile, browserIdleFile))
	if strings.Contains(res.Markdown, "Browsers") || strings.Contains(res.Summary, "Browsers") {
		t.Errorf("section 5 rendered without browser files")
	}
}

func TestBrowsersIdleOnly(t *testing.T) {
	res := render(t, copyFixture(t, browserDialogFile))
	if !strings.Contains(res.Markdown, "| firefox | OpenSC | 70 |") {
		t.Errorf("the idle table is missing with the idle file alone")
	}
	if strings.Contains(res.Markdown, "to the PIN dialog, ours") || strings.Contains(res.Summary, "Browsers, login") {
		t.Errorf("a dialog table without browser-dialog.jsonl")
	}
}

func TestBusyMinutes(t *testing.T) {
	for _, tc := range []struct {
		name             string
		lines            []BrowserIdle
		polling, signing string
	}{
		{"quiet", []BrowserIdle{{Minute: 1}, {Minute: 2}}, "", ""},
		{"sorted instructions", []BrowserIdle{{Minute: 1}, {Minute: 2, APDUs: 3, ByINS: map[string]uint64{"B0": 1, "A4": 2}}}, "2 (3: A4 2, B0 1)", ""},
		{"no breakdown", []BrowserIdle{{Minute: 4, APDUs: 1}, {Minute: 5, APDUs: 2}}, "4 (1), 5 (2)", ""},
		{"a signature is no polling", []BrowserIdle{{Minute: 1, APDUs: 7, ByINS: map[string]uint64{"20": 2, "2A": 1, "A4": 4}}, {Minute: 2, APDUs: 2, ByINS: map[string]uint64{"A4": 2}}},
			"2 (2: A4 2)", "1 (7: 20 2, 2A 1, A4 4)"},
	} {
		polling, signing := busyMinutes(tc.lines)
		if got := strings.Join(polling, ", "); got != tc.polling {
			t.Errorf("%s: polling = %q, want %q", tc.name, got, tc.polling)
		}
		if got := strings.Join(signing, ", "); got != tc.signing {
			t.Errorf("%s: signing = %q, want %q", tc.name, got, tc.signing)
		}
	}
}

func TestMinutesOf(t *testing.T) {
	m := minutesOf([]BrowserIdle{{APDUs: 12}, {APDUs: 13}, {APDUs: 12}, {APDUs: 14}})
	if m.median != 12.5 || m.max != 14 || m.sum != 51 || m.minutes != 4 {
		t.Errorf("minutesOf = %+v, want median 12.5, max 14, sum 51, 4 minutes", m)
	}
	if got := m.cells(); got != "12.5 | 14 | 51 over 4 min" {
		t.Errorf("cells = %q", got)
	}
	if got := minutesOf(nil).cells(); got != "– | – | –" {
		t.Errorf("cells of no minutes = %q", got)
	}
}
