package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/test/bench/scenario"
)

// Scenarios in the order of the tables (test/bench/scenario).
var scenarioNames = []string{"a-list", "b-objects", "c-sign-auth", "d-sign-sign", "e-sign10"}

// bObjectsFormula is the object listing's minimum in the default scope
// (scenario.Minimum), which depends on the certificates' lengths; the
// table puts the in-process count in front of it.
const bObjectsFormula = "5 + (2 + ⌈auth/256⌉ − 1) + 2×(2 + ⌈CA/256⌉)"

// scenarioFigures is what the runs of one scenario found.
type scenarioFigures struct {
	inproc, ours, osc int     // APDUs: ours in-process, ours via pcscd, OpenSC (median)
	oursSig, oscSig   int     // signatures the card (or phone) computed
	oursMs, oscMs     float64 // median time without latency
	oursRuns, oscRuns Spread  // time without latency
}

// runs returns the runs of scenario name by module in rows.
func runs(rows []Scenario, module, name string) []Scenario {
	var out []Scenario
	for _, s := range rows {
		if s.Module == module && s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func msOf(rows []Scenario) []float64 {
	out := make([]float64, len(rows))
	for i, s := range rows {
		out[i] = s.Ms
	}
	return out
}

// distinctAPDUs returns the sorted distinct APDU counts of rows.
func distinctAPDUs(rows []Scenario) []int {
	var out []int
	for _, s := range rows {
		if !slices.Contains(out, s.APDUs) {
			out = append(out, s.APDUs)
		}
	}
	slices.Sort(out)
	return out
}

// moduleSet names the three runs of each scenario a section compares: ours
// in-process, ours through pcscd and OpenSC, on the credential where (empty
// for the card, " on the phone").
type moduleSet struct{ inproc, ours, opensc, where string }

// cardModules are the runs on the simulated card.
var cardModules = moduleSet{"ours-inproc", "ours", "opensc", ""}

// scenarioFigs computes one scenario's figures from the runs of m, noting
// as problems a count of ours that varies or differs between in-process and
// pcscd, and as a note an OpenSC count that varies.
func (r *report) scenarioFigs(m moduleSet, sc string) (scenarioFigures, error) {
	in, o, s := runs(r.d.Scenarios, m.inproc, sc), runs(r.d.Scenarios, m.ours, sc), runs(r.d.Scenarios, m.opensc, sc)
	if len(in) == 0 || len(o) == 0 || len(s) == 0 {
		return scenarioFigures{}, fmt.Errorf("scenarios.jsonl lacks %s runs%s (%s %d, %s %d, %s %d): rerun test/bench.sh",
			sc, m.where, m.inproc, len(in), m.ours, len(o), m.opensc, len(s))
	}
	if oa := distinctAPDUs(o); len(oa) != 1 {
		r.problem("%s%s: our APDU count varies between runs: %s", sc, m.where, ints(oa))
	}
	if sa := distinctAPDUs(s); len(sa) != 1 {
		r.note("%s%s: OpenSC's APDU count varied between its %d runs: %s (the table shows the median)", sc, m.where, len(s), ints(sa))
	}
	if in[0].APDUs != o[0].APDUs {
		r.problem("%s%s: in-process %d APDUs but %d through pcscd", sc, m.where, in[0].APDUs, o[0].APDUs)
	}
	oscAPDUs := make([]float64, len(s))
	for i, x := range s {
		oscAPDUs[i] = float64(x.APDUs)
	}
	return scenarioFigures{
		inproc: in[0].APDUs, ours: o[0].APDUs, osc: int(Median(oscAPDUs)),
		oursSig: o[0].Signatures, oscSig: s[0].Signatures,
		oursMs: Median(msOf(o)), oscMs: Median(msOf(s)),
		oursRuns: SpreadOf(msOf(o)), oscRuns: SpreadOf(msOf(s)),
	}, nil
}

// figures computes section 1's figures and its notes and problems.
func (r *report) figures() error {
	r.figs = map[string]scenarioFigures{}
	for _, sc := range scenarioNames {
		f, err := r.scenarioFigs(cardModules, sc)
		if err != nil {
			return err
		}
		r.figs[sc] = f
	}
	return nil
}

// apdus writes section 1: APDUs per scenario.
func (r *report) apdus() error {
	if err := r.figures(); err != nil {
		return err
	}
	mins := map[string]string{}
	for _, name := range scenarioNames {
		n, _ := scenario.Minimum(name, "operation", scenario.CertLens{})
		mins[name] = fmt.Sprint(n)
	}
	mins["b-objects"] = fmt.Sprintf("%d (%s)", r.figs["b-objects"].inproc, bObjectsFormula)
	r.add("## 1. Card round-trips (APDUs) per scenario\n")
	var head []string
	for _, sc := range scenarioNames {
		f := r.figs[sc]
		head = append(head, fmt.Sprintf("%s **%.2f**", sc, float64(f.ours)/float64(f.osc)))
	}
	r.addf("APDUs, ours / OpenSC: %s.\n", strings.Join(head, ", "))
	r.add("Counted by the simulator (`myna-sim --stats-file`). Scenarios (test/bench/scenario) copy pkcs11-tool's call sequences: " +
		"**a** `-L`; **b** `-O` on both tokens in one process; **c** `--login --sign --id 01` (auth key, fresh process); " +
		"**d** the same with the sign key; **e** one login, 10 signatures in one session. The minimum and its reasoning are in " +
		"test/apdubudget/budget_test.go, which asserts our counts exactly (`go test ./test/apdubudget`).\n")
	r.addf("| scenario | ours in-process | ours via pcscd | OpenSC | ours / OpenSC | minimum | time without latency, ours (median, min–max of %d) | OpenSC |", r.figs[scenarioNames[0]].oursRuns.N)
	r.add("|---|---:|---:|---:|---:|---|---:|---:|")
	for _, sc := range scenarioNames {
		f := r.figs[sc]
		r.addf("| %s | %d | %d | %d | %.2f | %s | %s | %s |", sc, f.inproc, f.ours, f.osc, float64(f.ours)/float64(f.osc), mins[sc],
			f.oursRuns.Ms(), f.oscRuns.Ms())
	}
	r.say("APDUs (ours in-process / ours via pcscd / OpenSC, ratio):")
	for _, sc := range scenarioNames {
		f := r.figs[sc]
		r.say("  %-12s %4d %4d %4d   ours/OpenSC %.2f", sc, f.inproc, f.ours, f.osc, float64(f.ours)/float64(f.osc))
	}
	return nil
}
