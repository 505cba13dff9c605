// Command report turns the JSON lines the reliability suites append to
// $MYNA_RELIABILITY_OUT into the table of test/RELIABILITY.md. Every number
// comes from those lines; nothing is typed by hand.
//
//	go run ./test/faults/report -in figures.jsonl -out test/RELIABILITY.md
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// line is one record; absent numbers are zero.
type line struct {
	Suite        string `json:"suite"`
	Test         string `json:"test"`
	Failed       bool   `json:"failed"`
	Scenarios    int    `json:"scenarios"`
	Faults       int    `json:"faults"`
	Crashes      int    `json:"crashes"`
	RetriesLost  int    `json:"retries_lost"`
	FuzzExecs    int64  `json:"fuzz_execs"`
	Signatures   int    `json:"signatures"`
	BadSigs      int    `json:"bad_signatures"`
	Checks       int    `json:"checks"`
	PrivacyCalls int    `json:"privacy_calls"`
	PrivacyLeaks int    `json:"privacy_leaks"`
	FuzzTime     string `json:"fuzztime"`
}

func main() {
	in := flag.String("in", "", "JSON lines written by the suites")
	out := flag.String("out", "test/RELIABILITY.md", "Markdown file to write")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	defer f.Close()
	var tot line
	failed := map[string]bool{}
	suites := map[string]int{}
	fuzzTime := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			fmt.Fprintf(os.Stderr, "report: bad line %q: %v\n", sc.Text(), err)
			os.Exit(1)
		}
		suites[l.Suite]++
		if l.Failed {
			failed[l.Suite+": "+l.Test] = true
		}
		tot.Scenarios += l.Scenarios
		tot.Faults += l.Faults
		tot.Crashes += l.Crashes
		tot.RetriesLost += l.RetriesLost
		tot.FuzzExecs += l.FuzzExecs
		tot.Signatures += l.Signatures
		tot.BadSigs += l.BadSigs
		tot.Checks += l.Checks
		tot.PrivacyCalls += l.PrivacyCalls
		tot.PrivacyLeaks += l.PrivacyLeaks
		if l.FuzzTime != "" {
			fuzzTime = l.FuzzTime
		}
	}
	var names []string
	for s := range suites {
		names = append(names, s)
	}
	sort.Strings(names)
	var fl []string
	for k := range failed {
		fl = append(fl, k)
	}
	sort.Strings(fl)
	var b strings.Builder
	fmt.Fprintf(&b, "# Reliability figures\n\n")
	fmt.Fprintf(&b, "Written by `bash test/suites/reliability.sh --report` on %s from the runs' own\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "records (suites: %s). Do not edit by hand.\n\n", strings.Join(names, ", "))
	fmt.Fprintf(&b, "| figure | value |\n|---|---|\n")
	rows := []struct {
		k string
		v any
	}{
		{"scenarios run (hostile C harness, stress, fork, fault and privacy scenarios)", tot.Scenarios},
		{"faults injected (removal, reset, swap, unplug, garbage, truncation, wrong SW, silence)", tot.Faults},
		{"exact return-code assertions in the hostile C harness", tot.Checks},
		{"signatures made under stress/faults and verified", tot.Signatures},
		{"signatures that did not verify", tot.BadSigs},
		{"crashes", tot.Crashes},
		{"PIN retries lost", tot.RetriesLost},
		{"GetAttributeValue calls before login that revealed the sign certificate", fmt.Sprintf("%d of %d", tot.PrivacyLeaks, tot.PrivacyCalls)},
		{fmt.Sprintf("fuzz executions (%s per target)", fuzzTime), tot.FuzzExecs},
		{"failed tests", len(fl)},
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %v |\n", r.k, r.v)
	}
	if len(fl) > 0 {
		fmt.Fprintf(&b, "\nFailed: %s\n", strings.Join(fl, "; "))
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Print(b.String())
}
