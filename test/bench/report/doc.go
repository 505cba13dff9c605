// Package report turns the raw files test/bench.sh writes into its bench
// directory into test/PERFORMANCE.md and the short summary the script
// prints on the terminal.
//
// Load reads the directory into a Data (one field per raw file), Render
// computes every figure and writes the Markdown, section by section (one
// file per section: apdus.go, model.go, phone.go (the end of section 2:
// a smartphone credential on a contactless reader), overhead.go,
// scaling.go, browsers.go). Anything that makes the run untrustworthy (our APDU
// count differing between runs, in-process and through pcscd, on the
// card or on the phone) is a
// PROBLEM: Result.Problems is non-empty and the driver exits 1. Figures
// worth a reader's attention (a spread wider than 20 % of the median, a
// measurement far from its model, an idle APDU of ours) are notes: they
// are flagged in their row and listed under "Notes on this run".
package report
