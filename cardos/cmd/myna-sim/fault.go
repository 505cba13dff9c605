package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

var faultKinds = map[string]sim.FaultKind{
	"remove": sim.FaultRemove, "reset": sim.FaultReset, "garbage": sim.FaultGarbage,
	"truncate": sim.FaultTruncate, "wrong-sw": sim.FaultWrongSW, "silent": sim.FaultSilent,
}

// parseFault reads KIND[,after=N][,ins=XX][,sw=XXXX][,repeat], for
// example "remove,after=10" or "silent,ins=2A".
func parseFault(s string) (sim.Fault, error) {
	parts := strings.Split(s, ",")
	kind, ok := faultKinds[parts[0]]
	if !ok {
		return sim.Fault{}, fmt.Errorf("--fault: unknown kind %q (remove, reset, garbage, truncate, wrong-sw, silent)", parts[0])
	}
	f := sim.Fault{Kind: kind}
	for _, p := range parts[1:] {
		key, val, _ := strings.Cut(p, "=")
		switch key {
		case "after":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return f, fmt.Errorf("--fault: after=%q is not a count", val)
			}
			f.After = n
		case "ins":
			n, err := strconv.ParseUint(val, 16, 8)
			if err != nil {
				return f, fmt.Errorf("--fault: ins=%q is not a hex byte", val)
			}
			f.OnINS, f.INS = true, byte(n)
		case "sw":
			n, err := strconv.ParseUint(val, 16, 16)
			if err != nil {
				return f, fmt.Errorf("--fault: sw=%q is not 4 hex digits", val)
			}
			f.SW = apdu.SW(n)
		case "repeat":
			f.Repeat = true
		default:
			return f, fmt.Errorf("--fault: unknown option %q (after=N, ins=XX, sw=XXXX, repeat)", p)
		}
	}
	return f, nil
}
