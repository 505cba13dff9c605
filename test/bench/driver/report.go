package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/bench/report"
)

// runReport is the report mode: it reads the raw files of -dir, writes
// the Markdown report to -out and prints the terminal summary. It
// returns the exit code: 1 when the run has a PROBLEM or the report
// could not be written.
func runReport(args []string) int {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "bench directory test/bench.sh wrote the raw files to")
	out := fs.String("out", "", "Markdown file to write (test/PERFORMANCE.md)")
	root := fs.String("root", ".", "git tree whose commit the report names (when -commit is empty)")
	var info report.Info
	fs.StringVar(&info.Machine, "machine", "", "machine description (default: uname -srm, CPUs and /proc/cpuinfo)")
	fs.IntVar(&info.CPUs, "cpus", 0, "CPUs, for judging the load averages (default: the CPUs this process may use)")
	fs.StringVar(&info.OpenSCVersion, "opensc-version", "", "OpenSC version (default: dpkg-query)")
	fs.StringVar(&info.SoftHSMVersion, "softhsm-version", "", "SoftHSM2 version (default: dpkg-query)")
	fs.StringVar(&info.Commit, "commit", "", "commit measured (default: git rev-parse --short HEAD in -root)")
	fs.Parse(args)
	if *dir == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "driver report: -dir and -out are required")
		return 2
	}
	d, err := report.Load(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "driver report: %v\n", err)
		return 1
	}
	info = report.Detect(info, *root)
	info.Date = time.Now()
	res, err := report.Render(d, info)
	if err != nil {
		fmt.Fprintf(os.Stderr, "driver report: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*out, []byte(res.Markdown), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "driver report: %v\n", err)
		return 1
	}
	fmt.Print("\n" + res.Summary)
	if len(res.Problems) > 0 {
		return 1
	}
	return 0
}
