package report

import (
	"fmt"
	"slices"
	"strings"
)

// browserSection is the loadavg.txt label test/bench/browsers.sh samples
// after its measurements.
const browserSection = "browsers"

// browserModules are the modules of section 5, in row order.
var browserModules = []struct{ key, label string }{{"ours", "ours"}, {"opensc", "OpenSC"}}

// idleFigures is one browser and module's row of the idle table.
type idleFigures struct {
	startup, login uint64
	notLoggedIn    []BrowserIdle // one per idle minute
	loggedIn       []BrowserIdle
}

// browserNames returns the browsers measured, in the order of
// browser-info.jsonl, then of first appearance.
func (b *Browsers) browserNames() []string {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, i := range b.Info {
		add(i.Browser)
	}
	for _, d := range b.Dialog {
		add(d.Browser)
	}
	for _, i := range b.Idle {
		add(i.Browser)
	}
	return out
}

// idle collects the idle lines of browser and module; ok is false when
// there are none.
func (b *Browsers) idle(browser, module string) (f idleFigures, ok bool) {
	for _, l := range b.Idle {
		if l.Browser != browser || l.Module != module {
			continue
		}
		ok = true
		switch l.Phase {
		case PhaseStartup:
			f.startup += l.APDUs
		case PhaseLogin:
			f.login += l.APDUs
		case PhaseNotLoggedIn:
			f.notLoggedIn = append(f.notLoggedIn, l)
		case PhaseLoggedIn:
			f.loggedIn = append(f.loggedIn, l)
		}
	}
	return f, ok
}

// idleMinutes sums up the idle minutes of one phase.
type idleMinutes struct {
	median   float64
	max, sum uint64
	minutes  int
}

func minutesOf(lines []BrowserIdle) idleMinutes {
	var m idleMinutes
	xs := make([]float64, len(lines))
	for i, l := range lines {
		xs[i] = float64(l.APDUs)
		m.sum += l.APDUs
		m.max = max(m.max, l.APDUs)
	}
	m.median, m.minutes = Median(xs), len(lines)
	return m
}

// num prints a count that may be a median of an even number of counts.
func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// cells prints the median, max and total of an idle phase.
func (m idleMinutes) cells() string {
	if m.minutes == 0 {
		return "– | – | –"
	}
	return fmt.Sprintf("%s | %d | %d over %d min", num(m.median), m.max, m.sum, m.minutes)
}

// insSign is the INS of COMPUTE DIGITAL SIGNATURE: an idle minute with
// one is a signature the browser asked for (a new TLS connection to the
// client-auth server), not polling.
const insSign = "2A"

// busyMinutes describes the idle minutes with APDUs, "3 (4: A4 2, B0 2)":
// those with a signature (signing) and those without (polling).
func busyMinutes(lines []BrowserIdle) (polling, signing []string) {
	for _, l := range lines {
		if l.APDUs == 0 {
			continue
		}
		ins := slices.Sorted(func(yield func(string) bool) {
			for k := range l.ByINS {
				if !yield(k) {
					return
				}
			}
		})
		var parts []string
		for _, k := range ins {
			parts = append(parts, fmt.Sprintf("%s %d", k, l.ByINS[k]))
		}
		d := fmt.Sprintf("%d (%d", l.Minute, l.APDUs)
		if len(parts) > 0 {
			d += ": " + strings.Join(parts, ", ")
		}
		if l.ByINS[insSign] > 0 {
			signing = append(signing, d+")")
		} else {
			polling = append(polling, d+")")
		}
	}
	return polling, signing
}

// browsers writes section 5 when test/bench/browsers.sh left its files.
func (r *report) browsers() error {
	b := r.d.Browsers
	if b == nil {
		return nil
	}
	names := b.browserNames()
	r.add("\n## 5. Browsers\n")
	if h := r.browserHeadline(names); h != "" {
		r.add(h + "\n")
	}
	var versions []string
	for _, i := range b.Info {
		versions = append(versions, fmt.Sprintf("%s: %s", i.Browser, i.Version))
	}
	if len(versions) > 0 {
		r.addf("Browsers: %s.\n", strings.Join(versions, "; "))
	}
	if len(b.Idle) > 0 {
		r.idleTable(names)
	}
	if len(b.Dialog) > 0 {
		r.dialogTable(names)
	}
	return nil
}

// browserHeadline gives the ratios of section 5 in one line.
func (r *report) browserHeadline(names []string) string {
	b := r.d.Browsers
	var idle, first, dlg, page []string
	for _, br := range names {
		o, okO := b.idle(br, "ours")
		s, okS := b.idle(br, "opensc")
		if okO && okS {
			on, sn, ol, sl := minutesOf(o.notLoggedIn), minutesOf(s.notLoggedIn), minutesOf(o.loggedIn), minutesOf(s.loggedIn)
			idle = append(idle, fmt.Sprintf("%s not logged in **%s / %s** (max %d / %d), logged in **%s / %s** (max %d / %d)", br,
				num(on.median), num(sn.median), on.max, sn.max, num(ol.median), num(sl.median), ol.max, sl.max))
		}
		od, sd := b.dialogs(br, "ours"), b.dialogs(br, "opensc")
		if len(od) > 0 && len(sd) > 0 {
			first = append(first, fmt.Sprintf("%s **%.2f**", br, Median(toFirst(od))/Median(toFirst(sd))))
			dlg = append(dlg, fmt.Sprintf("%s **%.2f**", br, Median(toDialog(od))/Median(toDialog(sd))))
			page = append(page, fmt.Sprintf("%s **%.2f**", br, Median(toPage(od))/Median(toPage(sd))))
		}
	}
	var parts []string
	if len(idle) > 0 {
		parts = append(parts, "Idle APDUs per minute (median), ours / OpenSC: "+strings.Join(idle, "; ")+".")
		r.say("Browsers, idle APDUs/min (median, ours / OpenSC): %s", strings.ReplaceAll(strings.Join(idle, "; "), "**", ""))
	}
	if len(dlg) > 0 {
		parts = append(parts, "Time to the first password dialog, ours / OpenSC: "+strings.Join(first, ", ")+"; to the PIN dialog: "+strings.Join(dlg, ", ")+
			"; PIN → page: "+strings.Join(page, ", ")+".")
	}
	return strings.Join(parts, " ")
}

// idleTable writes the APDUs a browser sent while idle, per module.
func (r *report) idleTable(names []string) {
	r.add("Idle polling: APDUs counted by the simulator while the browser was open, ours and OpenSC loaded at the same time, " +
		"each on its own simulated card. *first listing*: from the browser's start until the idle phase starts; *login*: the login itself; " +
		"*not logged in*: each idle minute with a page open that asks for no client certificate; *logged in*: each idle minute after " +
		"the client-auth page loaded. The goal for ours is 0 APDUs in every idle minute: a minute with APDUs and no signature is polling and is flagged; " +
		"a minute with a signature (INS 2A) is the browser opening a new TLS connection to the client-auth server, and is listed:\n")
	r.add("| browser | module | first listing APDUs | login APDUs | not logged in: APDUs/min median | max | total | logged in: APDUs/min median | max | total | |")
	r.add("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, br := range names {
		for _, m := range browserModules {
			f, ok := r.d.Browsers.idle(br, m.key)
			if !ok {
				continue
			}
			var flags []string
			for _, ph := range []struct {
				name  string
				lines []BrowserIdle
			}{{"not logged in", f.notLoggedIn}, {"logged in", f.loggedIn}} {
				polling, signing := busyMinutes(ph.lines)
				if len(polling) > 0 && m.key == "ours" {
					flags = append(flags, "**polling while idle, "+ph.name+": minute "+strings.Join(polling, ", ")+"**")
					r.note("%s ours, %s: APDUs without a signature in idle minute %s (the goal is 0 per idle minute)", br, ph.name, strings.Join(polling, ", "))
				} else if len(polling) > 0 {
					flags = append(flags, "polling while idle, "+ph.name+": minute "+strings.Join(polling, ", "))
				}
				if len(signing) > 0 {
					flags = append(flags, "a new TLS connection signed, "+ph.name+": minute "+strings.Join(signing, ", "))
				}
			}
			flag := strings.Join(flags, "; ")
			r.addf("| %s | %s | %d | %d | %s | %s | %s |", br, m.label, f.startup, f.login,
				minutesOf(f.notLoggedIn).cells(), minutesOf(f.loggedIn).cells(), flag)
		}
	}
}

// dialogs returns the dialog rounds of browser and module.
func (b *Browsers) dialogs(browser, module string) []BrowserDialog {
	var out []BrowserDialog
	for _, d := range b.Dialog {
		if d.Browser == browser && d.Module == module {
			out = append(out, d)
		}
	}
	return out
}

// toFirst is the time to the first password dialog of any token; a line
// without it (an older run) gives the time to the PIN dialog.
func toFirst(ds []BrowserDialog) []float64 {
	return PerRound(len(ds), func(i int) float64 {
		if ds[i].ToFirstDialogMs > 0 {
			return ds[i].ToFirstDialogMs
		}
		return ds[i].ToDialogMs
	})
}

func toDialog(ds []BrowserDialog) []float64 {
	return PerRound(len(ds), func(i int) float64 { return ds[i].ToDialogMs })
}

func toPage(ds []BrowserDialog) []float64 {
	return PerRound(len(ds), func(i int) float64 { return ds[i].ToPageMs })
}

func apdusOf(ds []BrowserDialog) []float64 {
	return PerRound(len(ds), func(i int) float64 { return float64(ds[i].APDUs) })
}

// seconds prints a spread of milliseconds in seconds: "0.81 s (0.80–0.83)".
func seconds(s Spread) string {
	if s.N == 0 {
		return "–"
	}
	return s.Scale(1.0/1000).Format("%.2f", "s")
}

// ratio prints a/b, or "–" without both.
func ratio(a, b Spread) string {
	if a.N == 0 || b.N == 0 || b.Median == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a.Median/b.Median)
}

// dialogTable writes the time to the PIN dialog and from the PIN to the
// page, ours against OpenSC.
func (r *report) dialogTable(names []string) {
	r.add("\nClient-certificate login: the time from the navigation to the PIN dialog, and from the typed PIN (Enter) to the loaded page, " +
		"median (min–max) of rounds interleaving ours and OpenSC; the simulator ran with the contact reader's latency model of section 2 " +
		"(`myna-sim --latency-apdu 15ms --latency-sign 500ms`), so the APDU counts show in the times. A spread wider than 20 % of the median, " +
		"or a round with other than one PIN dialog, is flagged. *Other dialogs*: password dialogs of another token in the same login " +
		"(the signature token's; Firefox's are cancelled, Chromium's must be answered, since cancelling one fails the whole login), per round:\n")
	r.add("| browser | to the first dialog, ours | OpenSC | ratio | to the PIN dialog, ours | OpenSC | ratio | PIN → page, ours | OpenSC | ratio | APDUs, ours | OpenSC | other dialogs, ours | OpenSC | |")
	r.add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	var summary []string
	for _, br := range names {
		o, s := r.d.Browsers.dialogs(br, "ours"), r.d.Browsers.dialogs(br, "opensc")
		if len(o) == 0 && len(s) == 0 {
			continue
		}
		of, sf := SpreadOf(toFirst(o)), SpreadOf(toFirst(s))
		od, sd, op, sp := SpreadOf(toDialog(o)), SpreadOf(toDialog(s)), SpreadOf(toPage(o)), SpreadOf(toPage(s))
		var flags []string
		for _, c := range []struct {
			what string
			s    Spread
		}{{"ours to PIN dialog", od}, {"OpenSC to PIN dialog", sd}, {"ours PIN → page", op}, {"OpenSC PIN → page", sp}} {
			if f := r.spreadFlag(br+" "+c.what, browserSection, c.s.Scale(1.0/1000), "%.2f", "s"); f != "" {
				flags = append(flags, c.what+" "+f)
			}
		}
		for _, m := range browserModules {
			for _, d := range r.d.Browsers.dialogs(br, m.key) {
				if d.Dialogs != 1 {
					flags = append(flags, fmt.Sprintf("**%s round %d: %d PIN dialogs**", m.label, d.Round, d.Dialogs))
					r.note("%s %s round %d: %d PIN dialogs, not one", br, m.label, d.Round, d.Dialogs)
				}
			}
		}
		oa, sa := SpreadOf(apdusOf(o)), SpreadOf(apdusOf(s))
		apdus := func(s Spread) string {
			if s.N == 0 {
				return "–"
			}
			return num(s.Median)
		}
		r.addf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", br, seconds(of), seconds(sf), ratio(of, sf), seconds(od), seconds(sd), ratio(od, sd),
			seconds(op), seconds(sp), ratio(op, sp), apdus(oa), apdus(sa), others(o), others(s), strings.Join(flags, "; "))
		summary = append(summary, fmt.Sprintf("%s to the first dialog %s / %s s (%s), to the PIN dialog %s / %s s (%s), PIN → page %s / %s s (%s)", br,
			median2(of), median2(sf), ratio(of, sf), median2(od), median2(sd), ratio(od, sd), median2(op), median2(sp), ratio(op, sp)))
	}
	if len(summary) > 0 {
		r.say("Browsers, login (median, ours / OpenSC): %s", strings.Join(summary, "; "))
	}
}

// others prints the other tokens' dialogs of each round: "2, 2, 3".
func others(ds []BrowserDialog) string {
	if len(ds) == 0 {
		return "–"
	}
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprint(d.OtherDialogs))
	}
	return strings.Join(out, ", ")
}

// median2 prints the median of a spread of milliseconds in seconds.
func median2(s Spread) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", s.Median/1000)
}
