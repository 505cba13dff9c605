// Package shlint finds pipelines in the project's shell scripts whose last
// reader may stop reading before the writer is done (grep -q, grep -m,
// grep -l, grep with its output sent to /dev/null, head, sed/awk that quit
// early). Under `set -o pipefail` the writer then dies of SIGPIPE at random
// and the pipeline fails although the match was found; the fix is to
// capture the writer's output first (a variable or file) or to use a reader
// that reads all of its input (sed -n 1p instead of head -n 1).
package shlint

import (
	"regexp"
	"strings"
)

// Finding is one early-closing reader: the 1-based line where its
// (possibly continued) command starts, and that command's text.
type Finding struct {
	Line int
	Text string
}

// earlyReader matches the start of a pipeline stage that can exit before
// reading all of its input.
var earlyReader = regexp.MustCompile(`^\s*(?:` +
	// grep with -q, -m, -l (also in a cluster like -Eq) or their long forms
	`(?:e|f)?grep\s+(?:\S+\s+)*?(?:-[A-Za-z]*[qml][A-Za-z0-9]*\b|--(?:quiet|silent|max-count|files-with-matches)\b)` +
	// grep whose output goes to /dev/null: GNU grep then stops at the first match
	`|(?:e|f)?grep\b.*>\s*/dev/null` +
	`|head\b` +
	// sed with a q command, awk with exit
	`|sed\b.*[\s';{}][0-9$]*q(?:[\s';}]|$)` +
	`|awk\b.*\bexit\b` +
	`)`)

// allowMarker at the end of a line keeps a pipeline on purpose (test/soak.sh
// runs the removed pattern to show how often it fails). Say why beside it.
const allowMarker = "# shlint:allow"

// Check returns the early-closing readers in the shell source src.
// Comment lines and lines carrying allowMarker are ignored; a line ending
// in a backslash continues.
func Check(src string) []Finding {
	var out []Finding
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		cmd := lines[i]
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + " " + lines[i]
		}
		trimmed := strings.TrimSpace(cmd)
		if strings.HasPrefix(trimmed, "#") || strings.Contains(cmd, allowMarker) {
			continue
		}
		for _, stage := range readerStages(cmd) {
			if earlyReader.MatchString(stage) {
				out = append(out, Finding{Line: start + 1, Text: trimmed})
				break
			}
		}
	}
	return out
}

// readerStages returns the text of every pipeline stage of cmd that reads
// a pipe, up to the next unquoted |, ;, & or ). Pipes and separators
// inside single quotes (regular expressions, sed scripts) do not count.
func readerStages(cmd string) []string {
	bare := stripQuoted(cmd)
	var stages []string
	for i := 0; i < len(bare); i++ {
		if bare[i] != '|' {
			continue
		}
		if i+1 < len(bare) && bare[i+1] == '|' {
			i++ // ||
			continue
		}
		end := strings.IndexAny(bare[i+1:], "|;&)")
		if end < 0 {
			end = len(bare) - i - 1
		}
		stages = append(stages, cmd[i+1:i+1+end])
	}
	return stages
}

// stripQuoted blanks the contents of single-quoted strings, so a regular
// expression such as 'a|head' is not mistaken for a pipe.
func stripQuoted(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '\'':
			in = !in
			b.WriteRune(r)
		case in:
			b.WriteString(strings.Repeat("_", len(string(r))))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
