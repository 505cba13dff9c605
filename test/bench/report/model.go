package report

import (
	"fmt"
	"math"
	"strings"
)

// Reader is a latency profile of the model: per-APDU and per-signature
// latency in milliseconds.
type Reader struct {
	Name           string
	APDUMs, SignMs float64
}

// Readers are the two profiles of section 2. Contact: typical figures
// (cardos/jpki/FACTS.md §10.3 has the one published round trip);
// contactless: our assumption (see the report's text).
var Readers = []Reader{{"contact", 15, 500}, {"contactless", 40, 700}}

// Model is the modelled user time in milliseconds: the time measured
// without latency plus the latency of every APDU and signature.
func (p Reader) Model(ms float64, apdus, signatures int) float64 {
	return ms + float64(apdus)*p.APDUMs + float64(signatures)*p.SignMs
}

// modelOff is how far a measurement may differ from its model, as a
// fraction, before the latency check flags it.
const modelOff = 0.10

// Scenarios of the latency check, in table order.
var latencyScenarios = []string{"c-sign-auth", "a-list"}

// model writes section 2: the modelled user time and its check against
// the simulator's latency model.
func (r *report) model() error {
	contact := Readers[0]
	r.add("\n## 2. Modelled user time\n")
	var head []string
	for _, sc := range scenarioNames {
		f := r.figs[sc]
		head = append(head, fmt.Sprintf("%s **%.2f**", sc, contact.Model(f.oursMs, f.ours, f.oursSig)/contact.Model(f.oscMs, f.osc, f.oscSig)))
	}
	measured := r.latencyMedians()
	var lat []string
	for _, sc := range latencyScenarios {
		if o, ok := measured[sc+"/ours"]; ok {
			if s, ok := measured[sc+"/opensc"]; ok {
				lat = append(lat, fmt.Sprintf("%s **%.2f**", sc, o/s))
			}
		}
	}
	latText := ""
	if len(lat) > 0 {
		latText = "; measured with latency: " + strings.Join(lat, ", ")
	}
	r.addf("Modelled time on a contact reader, ours / OpenSC: %s%s.\n", strings.Join(head, ", "), latText)
	r.add("Model: time measured without latency (median of 3 fresh processes, simulator through pcscd) + APDUs × per-APDU latency + " +
		"signatures × signature latency. Contact reader: 15 ms/APDU, 500 ms/RSA-2048 signature (the issue's typical figures). " +
		"Contactless: 40 ms/APDU, 700 ms/signature — our assumption, not a measurement: ISO 14443-B at 212–424 kbit/s with " +
		"reader firmware framing makes each exchange slower, and the card computes RSA on field power, more slowly than on contact power.\n")
	r.add("| scenario | ours contact | OpenSC contact | ratio | ours contactless | OpenSC contactless | ratio |")
	r.add("|---|---:|---:|---:|---:|---:|---:|")
	for _, sc := range scenarioNames {
		f := r.figs[sc]
		var cells []string
		for _, p := range Readers {
			a, o := p.Model(f.oursMs, f.ours, f.oursSig), p.Model(f.oscMs, f.osc, f.oscSig)
			cells = append(cells, fmt.Sprintf("%.2f s", a/1000), fmt.Sprintf("%.2f s", o/1000), fmt.Sprintf("%.2f", a/o))
		}
		r.addf("| %s | %s |", sc, strings.Join(cells, " | "))
	}
	r.latencyCheck(contact)
	r.say("Modelled time, contact reader (ours / OpenSC):")
	for _, sc := range scenarioNames {
		f := r.figs[sc]
		a, o := contact.Model(f.oursMs, f.ours, f.oursSig), contact.Model(f.oscMs, f.osc, f.oscSig)
		r.say("  %-12s %6.2f s %6.2f s   ratio %.2f", sc, a/1000, o/1000, a/o)
	}
	return nil
}

// latencyMedians returns the median measured time with latency per
// "scenario/module".
func (r *report) latencyMedians() map[string]float64 {
	out := map[string]float64{}
	for _, sc := range latencyScenarios {
		for _, mod := range []string{"ours", "opensc"} {
			if rs := runs(r.d.Latency, mod, sc); len(rs) > 0 {
				out[sc+"/"+mod] = Median(msOf(rs))
			}
		}
	}
	return out
}

// latencyCheck writes the table that compares the scenarios measured
// with the simulator's latency on against the model p.
func (r *report) latencyCheck(p Reader) {
	r.add("\nCheck of the model: the same scenarios measured with the simulator's latency switched on " +
		"(`myna-sim --latency-apdu 15ms --latency-sign 500ms`), rounds interleaving ours and OpenSC; a difference of more " +
		"than 10 % between median and model is flagged with its likely cause:\n")
	r.add("| scenario | module | APDUs | measured (median, min–max) | model | measured / model | |")
	r.add("|---|---|---:|---:|---:|---:|---|")
	latLoad, ok := r.load("latency check")
	if !ok {
		latLoad = r.peakTimedLoad()
	}
	for _, sc := range latencyScenarios {
		for _, m := range []struct{ mod, label string }{{"ours", "ours"}, {"opensc", "OpenSC"}} {
			rs := runs(r.d.Latency, m.mod, sc)
			if len(rs) == 0 {
				continue
			}
			s := SpreadOf(msOf(rs))
			f := r.figs[sc]
			base := f.oursMs
			if m.mod == "opensc" {
				base = f.oscMs
			}
			mdl := p.Model(base, rs[0].APDUs, rs[0].Signatures)
			q := s.Median / mdl
			flag := ""
			if math.Abs(q-1) > modelOff {
				var cause string
				switch {
				case r.busy(latLoad):
					cause = fmt.Sprintf("machine busy (load %.2f on %d CPUs)", latLoad, r.info.CPUs)
				case s.Max-s.Min > wideSpread*s.Median:
					cause = "spread between rounds"
				default:
					cause = "the model misses a cost (per-APDU overhead of pcscd + vpcd?)"
				}
				flag = fmt.Sprintf("**off by %+.0f %%: %s**", 100*(q-1), cause)
				r.note("%s %s: measured %.2f s against a model of %.2f s (%+.0f %%): %s", sc, m.label, s.Median/1000, mdl/1000, 100*(q-1), cause)
			}
			r.addf("| %s | %s | %d | %s | %.0f ms | %.2f | %s |", sc, m.label, rs[0].APDUs, s.Ms(), mdl, q, flag)
		}
	}
	measured := r.latencyMedians()
	for _, sc := range latencyScenarios {
		o, okO := measured[sc+"/ours"]
		s, okS := measured[sc+"/opensc"]
		if okO && okS {
			r.addf("\n%s, measured with latency: ours / OpenSC = **%.2f** (medians of interleaved rounds).", sc, o/s)
		}
	}
}
