// Package cheader reads the #define constants of a PKCS#11 C header
// (CKR_, CKA_, CKM_, CKF_, ... names), so that tests can check the Go name
// tables of p11/ck and the C layer's trace tables against the headers
// instead of trusting a hand-copied value.
package cheader

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// defineLine matches "#define NAME value" for the CK*_ names.
var defineLine = regexp.MustCompile(`^\s*#\s*define\s+(CK[A-Z]?_[A-Z0-9_]+)\s+(.+?)\s*(/\*.*)?$`)

// Parse returns the value of every constant the header at path defines
// with an expression it can evaluate: numbers (decimal or hex, with U/L
// suffixes), casts to unsigned long, parentheses, "|", "<<" and names
// defined earlier in the file. Names defined otherwise (macros with
// arguments, types) are left out.
func Parse(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := defineLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if v, ok := eval(m[2], vals); ok {
			vals[m[1]] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cheader: %s: %w", path, err)
	}
	return vals, nil
}

// eval evaluates a constant expression of the forms Parse accepts.
func eval(e string, vals map[string]uint64) (uint64, bool) {
	e = strings.TrimSpace(strings.ReplaceAll(e, "(unsigned long)", ""))
	e = strings.TrimSpace(strings.ReplaceAll(e, "(CK_ULONG)", ""))
	for strings.HasPrefix(e, "(") && closing(e) == len(e)-1 {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	for _, op := range []string{"|", "<<"} {
		if i := topLevel(e, op); i >= 0 {
			a, ok1 := eval(e[:i], vals)
			b, ok2 := eval(e[i+len(op):], vals)
			if !ok1 || !ok2 {
				return 0, false
			}
			if op == "|" {
				return a | b, true
			}
			return a << b, true
		}
	}
	if v, ok := vals[e]; ok {
		return v, true
	}
	n, err := strconv.ParseUint(strings.TrimRight(e, "uUlL"), 0, 64)
	return n, err == nil
}

// closing returns the index of the parenthesis closing the one at 0.
func closing(e string) int {
	depth := 0
	for i, r := range e {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// topLevel returns the index of op outside parentheses, or -1.
func topLevel(e, op string) int {
	depth := 0
	for i := 0; i < len(e); i++ {
		switch e[i] {
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth == 0 && strings.HasPrefix(e[i:], op) {
			return i
		}
	}
	return -1
}
