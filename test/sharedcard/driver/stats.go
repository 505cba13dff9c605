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
	byCategory                  map[string]int
	firstOf                     map[string]string // category -> first failure seen
}

func newStats() *stats { return &stats{byCategory: map[string]int{}, firstOf: map[string]string{}} }

// count counts one failed step of category; line is the failure's text.
func (s *stats) count(category, line string) {
	s.byCategory[category]++
	if _, ok := s.firstOf[category]; !ok {
		s.firstOf[category] = line
	}
}

// print writes the scope's summary.
func (s *stats) print(out io.Writer, scope string) {
	fmt.Fprintf(out, "summary %s: %d scenarios, %d failed; %d steps; no-PIN probes after our steps: %d, card signed: %d; re-logins after another program's logout/reset: %d\n",
		scope, s.scenarios, s.failedScenarios, s.steps, s.probes, s.signedProbes, s.relogins)
	cats := make([]string, 0, len(s.byCategory))
	for c := range s.byCategory {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		fmt.Fprintf(out, "  %-40s %4d failed steps; first: %s\n", c, s.byCategory[c], s.firstOf[c])
	}
}
