package report

import (
	"fmt"
	"strings"
)

// Load-average labels (test/bench.sh sample_load) of section 3's parts.
const (
	loadTimeSection = "load time"
	rateSection     = "signature rates"
)

// rateRows are the signature rates of section 3, one Spread per row over
// the rounds, plus the per-round figures the overhead is computed from.
type rateRows struct {
	rounds               int
	raw, core, ours, hsm []float64 // signatures per second, per round
	signatures           int       // per measurement
}

// rates pairs the rounds of the three rate files (the n-th line of each
// is the n-th round).
func (r *report) rates() (rateRows, error) {
	d := r.d
	n := min(len(d.RateOurs), len(d.RateInProc), len(d.RateSoftHSM))
	if n == 0 {
		return rateRows{}, fmt.Errorf("no signature rates (rate-ours %d, rate-inproc %d, rate-softhsm %d lines): rerun test/bench.sh",
			len(d.RateOurs), len(d.RateInProc), len(d.RateSoftHSM))
	}
	if len(d.RateOurs) != n || len(d.RateInProc) != n || len(d.RateSoftHSM) != n {
		r.note("signature rates: the rate files hold %d, %d and %d rounds; only the first %d are paired", len(d.RateOurs), len(d.RateInProc), len(d.RateSoftHSM), n)
	}
	rr := rateRows{rounds: n, signatures: d.RateOurs[0].Signatures}
	for i := 0; i < n; i++ {
		rr.raw = append(rr.raw, d.RateInProc[i].RawSim.PerSecond)
		rr.core = append(rr.core, d.RateInProc[i].Module.PerSecond)
		rr.ours = append(rr.ours, d.RateOurs[i].PerSecond)
		rr.hsm = append(rr.hsm, d.RateSoftHSM[i].PerSecond)
	}
	return rr, nil
}

// msPer converts signatures per second into milliseconds per signature.
func msPer(perSecond []float64) []float64 {
	return PerRound(len(perSecond), func(i int) float64 { return 1000 / perSecond[i] })
}

// overhead writes section 3: signatures per second, load time and peak
// RSS.
func (r *report) overhead() error {
	rr, err := r.rates()
	if err != nil {
		return err
	}
	lt, err := r.loadTimes()
	if err != nil {
		return err
	}
	// Per-round ratio, so that a burst of load hitting one round cancels.
	vsHSM := SpreadOf(PerRound(rr.rounds, func(i int) float64 { return rr.hsm[i] / rr.ours[i] }))
	r.add("\n## 3. Module overhead\n")
	r.addf("Ours / SoftHSM2, time per signature: **%.2f**; ours / OpenSC, dlopen → first C_GetSlotList: **%.2f**, peak RSS: **%.2f** (the load table below gives the inverse, other / ours).\n",
		vsHSM.Median, lt.ours.time.Median/lt.osc.time.Median, lt.ours.rss.Median/lt.osc.rss.Median)
	r.addf("Signatures per second, SHA256-RSA-PKCS with an RSA-2048 key, one session, same Go driver (miekg/pkcs11) for both .so; "+
		"%d signatures per measurement; the figures are medians (min–max) of %d interleaved rounds, each round measuring every row once, "+
		"so a burst of load on the shared machine hits all rows alike; a spread wider than 20 %% of the median is flagged:\n", rr.signatures, rr.rounds)
	r.add("| what | signatures/s (median, min–max) | ms per signature (median, min–max) | |")
	r.add("|---|---:|---:|---|")
	for _, row := range []struct {
		what string
		ps   []float64
	}{
		{"simulator's raw RSA (SIGN APDU straight to the card)", rr.raw},
		{"ours, Go core in-process (p11 + jpki + card)", rr.core},
		{"ours, .so with the in-process simulated card", rr.ours},
		{"SoftHSM2 .so", rr.hsm},
	} {
		s := SpreadOf(row.ps)
		flag := r.spreadFlag("signatures per second, "+row.what, rateSection, s, "%.0f", "signatures/s")
		r.addf("| %s | %s | %s | %s |", row.what, s.Format("%.0f", ""), SpreadOf(msPer(row.ps)).Format("%.3f", ""), flag)
	}
	over := SpreadOf(PerRound(rr.rounds, func(i int) float64 { return 1000/rr.ours[i] - 1000/rr.raw[i] }))
	r.addf("\nOur overhead per signature on top of the card's RSA: %s ms, the median (min–max) of the per-round differences "+
		"between our .so and the raw RSA of the same round "+
		"(ours / SoftHSM2 time per signature: %s; SoftHSM2 signs with its own key in software, so this ratio mostly compares two RSA implementations).\n",
		over.Format("%.3f", ""), vsHSM.Format("%.2f", ""))
	r.loadTable(lt)
	r.say("Signatures/s (median of %d rounds): raw sim %.0f, ours .so %.0f, SoftHSM2 %.0f  (ours/SoftHSM2 %.2f); overhead on the card's RSA %.3f ms",
		rr.rounds, Median(rr.raw), Median(rr.ours), Median(rr.hsm),
		Median(PerRound(rr.rounds, func(i int) float64 { return rr.ours[i] / rr.hsm[i] })), over.Median)
	for _, m := range lt.modules() {
		r.say("Load %-8s %6.1f ms  RSS %5.1f MiB  (/ours %.2f, %.2f)", m.key, m.time.Median/1000, m.rss.Median/1024,
			m.time.Median/lt.ours.time.Median, m.rss.Median/lt.ours.rss.Median)
	}
	return nil
}

// moduleLoad is one module's load time (µs) and peak RSS (KiB).
type moduleLoad struct {
	key, label string
	time, rss  Spread
}

// loadTimes are section 3's load-time rows.
type loadTimes struct{ ours, osc, hsm moduleLoad }

func (lt loadTimes) modules() []moduleLoad { return []moduleLoad{lt.ours, lt.osc, lt.hsm} }

// loadTimes groups load.txt by module.
func (r *report) loadTimes() (loadTimes, error) {
	get := func(key, label string) (moduleLoad, error) {
		var t, rss []float64
		for _, l := range r.d.LoadRuns {
			if l.Module == key {
				t, rss = append(t, l.Micros), append(rss, l.RSSKiB)
			}
		}
		if len(t) == 0 {
			return moduleLoad{}, fmt.Errorf("load.txt has no runs of %s: rerun test/bench.sh", key)
		}
		return moduleLoad{key, label, SpreadOf(t), SpreadOf(rss)}, nil
	}
	var lt loadTimes
	var err error
	for _, m := range []struct {
		dst        *moduleLoad
		key, label string
	}{{&lt.ours, "ours", "ours"}, {&lt.osc, "opensc", "OpenSC"}, {&lt.hsm, "softhsm", "SoftHSM2"}} {
		if *m.dst, err = get(m.key, m.label); err != nil {
			return lt, err
		}
	}
	return lt, nil
}

// loadTable writes the load-time and peak-RSS table.
func (r *report) loadTable(lt loadTimes) {
	r.addf("dlopen → end of the first C_GetSlotList, and peak RSS after C_Finalize (C driver test/bench/loadtime.c; "+
		"median and min–max of %d rounds, the three modules interleaved round-robin; ours and OpenSC with the card in a reader via pcscd):\n", lt.ours.time.N)
	r.add("| module | time (median, min–max) | peak RSS (median, min–max) | time / ours | RSS / ours | |")
	r.add("|---|---:|---:|---:|---:|---|")
	for _, m := range lt.modules() {
		var flags []string
		ms, mib := m.time.Scale(1.0/1000), m.rss.Scale(1.0/1024)
		if f := r.spreadFlag("load time, "+m.label, loadTimeSection, ms, "%.1f", "ms"); f != "" {
			flags = append(flags, "time "+f)
		}
		if f := r.spreadFlag("peak RSS, "+m.label, loadTimeSection, mib, "%.1f", "MiB"); f != "" {
			flags = append(flags, "RSS "+f)
		}
		r.addf("| %s | %s | %s | %.2f | %.2f | %s |", m.label, ms.Format("%.1f", "ms"), mib.Format("%.1f", "MiB"),
			m.time.Median/lt.ours.time.Median, m.rss.Median/lt.ours.rss.Median, strings.Join(flags, "; "))
	}
}
