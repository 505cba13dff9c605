package sim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// faultKindNames are the fault kinds' names in a fault spec.
var faultKindNames = map[string]FaultKind{
	"none": FaultNone, "remove": FaultRemove, "reset": FaultReset, "garbage": FaultGarbage,
	"truncate": FaultTruncate, "wrong-sw": FaultWrongSW, "silent": FaultSilent, "lost": FaultLost,
}

// ParseFault reads a fault spec KIND[,after=N][,ins=XX][,sw=XXXX][,repeat],
// for example "remove,after=10" or "silent,ins=2A". KIND is none, remove,
// reset, garbage, truncate, wrong-sw, silent or lost. It is the syntax of
// myna-sim --fault and of the test-only simulator control file.
func ParseFault(s string) (Fault, error) {
	parts := strings.Split(s, ",")
	kind, ok := faultKindNames[parts[0]]
	if !ok {
		return Fault{}, fmt.Errorf("unknown fault kind %q (none, remove, reset, garbage, truncate, wrong-sw, silent, lost)", parts[0])
	}
	f := Fault{Kind: kind}
	for _, p := range parts[1:] {
		key, val, _ := strings.Cut(p, "=")
		switch key {
		case "after":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return f, fmt.Errorf("fault option after=%q is not a count", val)
			}
			f.After = n
		case "ins":
			n, err := strconv.ParseUint(val, 16, 8)
			if err != nil {
				return f, fmt.Errorf("fault option ins=%q is not a hex byte", val)
			}
			f.OnINS, f.INS = true, byte(n)
		case "sw":
			n, err := strconv.ParseUint(val, 16, 16)
			if err != nil {
				return f, fmt.Errorf("fault option sw=%q is not 4 hex digits", val)
			}
			f.SW = apdu.SW(n)
		case "repeat":
			f.Repeat = true
		default:
			return f, fmt.Errorf("unknown fault option %q (after=N, ins=XX, sw=XXXX, repeat)", p)
		}
	}
	return f, nil
}
