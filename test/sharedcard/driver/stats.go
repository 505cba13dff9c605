package main

import (
	"fmt"
	"io"
	"sort"
)

// stats counts what a scope's run did and what failed, by category.
type stats struct {
	scenarios, failedScenarios  int
	steps, probes, signedProbes int
	relogins                    int // CKR_USER_NOT_LOGGED_IN after another program's doing, then a fresh login
	openscProbes                int // signed probes that OpenSC's own login explains (coexistence family)
	openscRelogins              int // OpenSC's CKR_USER_NOT_LOGGED_IN after it forgot the PIN, then a fresh login
	// OpenSC's signatures in the coexistence family: asked with its own
	// steps alone and made; of those made alone, made beside ours.
	openscAloneSigns, openscAloneSigned, openscSigned int
	byCategory                                        map[string]int
	firstOf                                           map[string]string // category -> first failure seen
}

func newStats() *stats { return &stats{byCategory: map[string]int{}, firstOf: map[string]string{}} }

// count counts one failed step of category; line is the failure's text.
func (s *stats) count(category, line string) {
	s.byCategory[category]++
	if _, ok := s.firstOf[category]; !ok {
		s.firstOf[category] = line
	}
}

// countOpenSC counts a signature step of OpenSC's program answered rv,
// with its own steps alone or beside ours.
func (s *stats) countOpenSC(st step, rv string, alone bool) {
	switch {
	case st.verb != verbSign || rv != rvOK:
	case alone:
		s.openscAloneSigned++
	case st.alone == rvOK && !st.again:
		s.openscSigned++
	}
	if alone && st.verb == verbSign {
		s.openscAloneSigns++
	}
}

// print writes the scope's summary.
func (s *stats) print(out io.Writer, scope string) {
	fmt.Fprintf(out, "summary %s: %d scenarios, %d failed; %d steps; no-PIN probes after our steps: %d, card signed: %d; re-logins after another program's logout/reset: %d\n",
		scope, s.scenarios, s.failedScenarios, s.steps, s.probes, s.signedProbes, s.relogins)
	if s.openscAloneSigns > 0 {
		fmt.Fprintf(out, "opensc %s: of the %d OpenSC signatures that succeed with its own steps alone (of %d asked; the others while logged out), %d succeeded beside ours; "+
			"CKR_USER_NOT_LOGGED_IN after OpenSC forgot the PIN (then logged in again and signed): %d; probes that signed after OpenSC's own login: %d\n",
			scope, s.openscAloneSigned, s.openscAloneSigns, s.openscSigned, s.openscRelogins, s.openscProbes)
	}
	cats := make([]string, 0, len(s.byCategory))
	for c := range s.byCategory {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		fmt.Fprintf(out, "  %-40s %4d failed steps; first: %s\n", c, s.byCategory[c], s.firstOf[c])
	}
}
