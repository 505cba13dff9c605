// Command driver runs one benchmark measurement and prints one JSON line.
// test/bench.sh calls it once per measurement, so that every run of a
// scenario is a fresh process, as pkcs11-tool is.
//
//	driver scenario -module SO -name c-sign-auth [-stats FILE]
//	    run a scenario of test/bench/scenario through the module; with
//	    -stats (myna-sim --stats-file) also report the APDUs it cost
//	driver inproc-scenario -state FILE -name c-sign-auth [-device android]
//	    the same scenario on p11 in-process over the simulated card of
//	    FILE, APDUs from the card's own counters; -device serves the
//	    card's keys as a smartphone credential (sim.Device: card,
//	    android, iphone), without latency
//	driver signrate -module SO -pin PIN [-n 200]
//	    log in to the first token and time n signatures (SHA256-RSA-PKCS)
//	driver inproc -state FILE [-n 200]
//	    the same through p11 in-process (no C ABI), plus the simulator's
//	    raw signing rate (SIGN APDUs straight to the card)
//	driver scale -module SO [-sessions 1,10,100,1000]
//	    cost of C_FindObjects and C_GetAttributeValue with many sessions
//	driver report -dir DIR -out test/PERFORMANCE.md [-machine ...]
//	    [-opensc-version V] [-softhsm-version V] [-commit C]
//	    read the raw files test/bench.sh wrote to DIR, write the report
//	    and print the terminal summary; exit 1 on a PROBLEM (see
//	    test/bench/report)
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/test/bench/browserbench"
	"github.com/myna-pkcs11/myna-pkcs11/test/bench/scenario"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: driver scenario|inproc-scenario|signrate|inproc|scale|report [flags] (see the source)")
		os.Exit(2)
	}
	if os.Args[1] == "report" {
		os.Exit(runReport(os.Args[2:]))
	}
	var out any
	var err error
	switch os.Args[1] {
	case "scenario":
		out, err = runScenario(os.Args[2:])
	case "inproc-scenario":
		out, err = inProcScenario(os.Args[2:])
	case "signrate":
		out, err = signRate(os.Args[2:])
	case "inproc":
		out, err = inProc(os.Args[2:])
	case "scale":
		out, err = scale(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "driver %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

// ScenarioResult is the output of the scenario mode.
type ScenarioResult struct {
	Name       string            `json:"name"`
	Ms         float64           `json:"ms"`
	APDUs      int64             `json:"apdus"`
	Signatures int64             `json:"signatures"`
	ByINS      map[string]uint64 `json:"by_ins,omitempty"`
}

func runScenario(args []string) (any, error) {
	fs := flag.NewFlagSet("scenario", flag.ExitOnError)
	module := fs.String("module", "", "PKCS#11 module")
	name := fs.String("name", "", "scenario name")
	stats := fs.String("stats", "", "myna-sim --stats-file")
	authPIN := fs.String("auth-pin", sim.DefaultAuthPIN, "auth PIN")
	signPIN := fs.String("sign-pin", sim.DefaultSignPIN, "sign password")
	fs.Parse(args)
	sc, err := scenario.ByName(*name)
	if err != nil {
		return nil, err
	}
	var before browserbench.Stats
	if *stats != "" {
		if before, err = browserbench.ReadStats(*stats); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	mod, err := scenario.Load(*module)
	if err != nil {
		return nil, err
	}
	if err := sc.Run(mod, scenario.Params{AuthPIN: *authPIN, SignPIN: *signPIN}); err != nil {
		return nil, err
	}
	res := ScenarioResult{Name: sc.Name, Ms: ms(time.Since(start)), APDUs: -1, Signatures: -1}
	mod.Ctx.Destroy()
	if *stats != "" {
		after, err := browserbench.ReadStats(*stats)
		if err != nil {
			return nil, err
		}
		d := after.Sub(before)
		res.APDUs, res.Signatures, res.ByINS = int64(d.APDUs), int64(d.Signatures), d.ByINS
	}
	return res, nil
}

func inProcScenario(args []string) (any, error) {
	fs := flag.NewFlagSet("inproc-scenario", flag.ExitOnError)
	state := fs.String("state", "", "simulator state file")
	name := fs.String("name", "", "scenario name")
	device := fs.String("device", "card", "what answers: card, android or iphone")
	fs.Parse(args)
	sc, err := scenario.ByName(*name)
	if err != nil {
		return nil, err
	}
	dev, err := sim.ParseDevice(*device)
	if err != nil {
		return nil, err
	}
	card, err := sim.Open(*state, sim.Options{Device: dev})
	if err != nil {
		return nil, err
	}
	r := sim.NewReader("Myna Simulator 00 00")
	r.Insert(card)
	c := &scenario.InProcess{Open: func() (cardos.Context, error) { return sim.NewContext(r), nil }}
	before := card.Stats()
	start := time.Now()
	if err := sc.Run(c, scenario.Params{AuthPIN: sim.DefaultAuthPIN, SignPIN: sim.DefaultSignPIN}); err != nil {
		return nil, err
	}
	res := ScenarioResult{Name: sc.Name, Ms: ms(time.Since(start)), ByINS: map[string]uint64{}}
	after := card.Stats()
	res.APDUs = int64(after.APDUs - before.APDUs)
	res.Signatures = int64(after.Signatures - before.Signatures)
	for k, v := range after.ByINS {
		if d := v - before.ByINS[k]; d > 0 {
			res.ByINS[fmt.Sprintf("%02X", k)] = d
		}
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// RateResult is the output of the signrate mode.
type RateResult struct {
	Signatures int     `json:"signatures"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
}

func signRate(args []string) (any, error) {
	fs := flag.NewFlagSet("signrate", flag.ExitOnError)
	module := fs.String("module", "", "PKCS#11 module")
	pin := fs.String("pin", "", "user PIN of the first token")
	n := fs.Int("n", 200, "signatures")
	fs.Parse(args)
	c, slots, err := openModule(*module)
	if err != nil {
		return nil, err
	}
	defer c.Finalize()
	s, err := c.OpenSession(slots[0])
	if err != nil {
		return nil, err
	}
	if err := c.Login(s, *pin); err != nil {
		return nil, err
	}
	keys, err := c.Find(s, []scenario.Attr{{Type: ck.CKA_CLASS, Value: []byte{3, 0, 0, 0, 0, 0, 0, 0}}})
	if err != nil || len(keys) == 0 {
		return nil, fmt.Errorf("no private key: %v", err)
	}
	msg := []byte("benchmark")
	// One warm-up signature, not timed.
	if err := c.SignInit(s, ck.CKM_SHA256_RSA_PKCS, keys[0]); err != nil {
		return nil, err
	}
	if _, err := c.Sign(s, msg); err != nil {
		return nil, err
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		if err := c.SignInit(s, ck.CKM_SHA256_RSA_PKCS, keys[0]); err != nil {
			return nil, err
		}
		if _, err := c.Sign(s, msg); err != nil {
			return nil, err
		}
	}
	d := time.Since(start).Seconds()
	c.CloseSession(s)
	return RateResult{Signatures: *n, Seconds: d, PerSecond: float64(*n) / d}, nil
}

// InProcResult is the output of the inproc mode.
type InProcResult struct {
	Module RateResult `json:"module"`
	RawSim RateResult `json:"raw_sim"`
}

func inProc(args []string) (any, error) {
	fs := flag.NewFlagSet("inproc", flag.ExitOnError)
	state := fs.String("state", "", "simulator state file")
	n := fs.Int("n", 200, "signatures")
	fs.Parse(args)
	card, err := sim.Open(*state, sim.Options{})
	if err != nil {
		return nil, err
	}
	// The module's Go core, in-process (p11 + jpki + the card).
	r := sim.NewReader("Myna Simulator 00 00")
	r.Insert(card)
	c := &scenario.InProcess{Open: func() (cardos.Context, error) { return sim.NewContext(r), nil }}
	start := time.Now()
	if err := scenario.SignN(c, scenario.Params{AuthPIN: sim.DefaultAuthPIN}, *n); err != nil {
		return nil, err
	}
	d := time.Since(start).Seconds()
	res := InProcResult{Module: RateResult{*n, d, float64(*n) / d}}
	// The card alone: VERIFY once, then SIGN APDUs straight to Process.
	pinEF, _ := jpki.PINEF(cardos.AuthKey)
	keyEF, _ := jpki.KeyEF(cardos.AuthKey)
	selectEF := func(fid uint16) apdu.Command {
		return apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSSelect, P1: apdu.SelectEFUnderDF, P2: apdu.SelectNoFCI, Data: []byte{byte(fid >> 8), byte(fid)}}
	}
	for _, cmd := range []apdu.Command{
		{CLA: apdu.CLAISO, INS: apdu.INSSelect, P1: apdu.SelectByDFName, P2: apdu.SelectNoFCI, Data: jpki.AID},
		selectEF(pinEF),
		{CLA: apdu.CLAISO, INS: apdu.INSVerify, P2: apdu.RefCurrentEF, Data: []byte(sim.DefaultAuthPIN)},
		selectEF(keyEF),
	} {
		b, _ := cmd.Bytes()
		if resp := card.Process(b); len(resp) < 2 || apdu.SW(uint16(resp[len(resp)-2])<<8|uint16(resp[len(resp)-1])) != apdu.SWOK {
			return nil, fmt.Errorf("card refused %v", cmd)
		}
	}
	sign, _ := apdu.Command{CLA: apdu.CLAProprietary, INS: apdu.INSComputeSignature, P1: apdu.SignPKCS1Padding, P2: apdu.RefCurrentEF, Data: pkcs1.SHA256(nil), Le: 256}.Bytes()
	start = time.Now()
	for i := 0; i < *n; i++ {
		if resp := card.Process(sign); len(resp) != 258 {
			return nil, errors.New("raw SIGN failed")
		}
	}
	d = time.Since(start).Seconds()
	card.Reset()
	res.RawSim = RateResult{*n, d, float64(*n) / d}
	return res, nil
}

// ScaleRow is one line of the scale mode.
type ScaleRow struct {
	Sessions      int     `json:"sessions"`
	FindUs        float64 `json:"find_us"`         // FindObjectsInit+FindObjects+Final, per search
	GetAttrUs     float64 `json:"get_attr_us"`     // C_GetAttributeValue (CKA_LABEL, size + value)
	OpenSessionUs float64 `json:"open_session_us"` // C_OpenSession, per session
}

func scale(args []string) (any, error) {
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	module := fs.String("module", "", "PKCS#11 module")
	list := fs.String("sessions", "1,10,100,1000", "session counts")
	iters := fs.Int("iters", 2000, "operations timed per point")
	fs.Parse(args)
	c, slots, err := openModule(*module)
	if err != nil {
		return nil, err
	}
	defer c.Finalize()
	var rows []ScaleRow
	var open []pkcs11.SessionHandle
	for _, f := range strings.Split(*list, ",") {
		want, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		added := 0
		for len(open) < want {
			s, err := c.Ctx.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION)
			if err != nil {
				return nil, err
			}
			open = append(open, s)
			added++
		}
		row := ScaleRow{Sessions: want}
		if added > 0 {
			row.OpenSessionUs = float64(time.Since(start).Microseconds()) / float64(added)
		}
		s := uint(open[len(open)-1])
		objs, err := c.Find(s, nil)
		if err != nil || len(objs) == 0 {
			return nil, fmt.Errorf("no objects: %v", err)
		}
		start = time.Now()
		for i := 0; i < *iters; i++ {
			if _, err := c.Find(uint(open[i%len(open)]), nil); err != nil {
				return nil, err
			}
		}
		row.FindUs = float64(time.Since(start).Microseconds()) / float64(*iters)
		start = time.Now()
		for i := 0; i < *iters; i++ {
			if _, err := c.Attr(uint(open[i%len(open)]), objs[0], ck.CKA_LABEL); err != nil {
				return nil, err
			}
		}
		row.GetAttrUs = float64(time.Since(start).Microseconds()) / float64(*iters)
		rows = append(rows, row)
	}
	return rows, nil
}

// openModule loads and initialises the module at path and returns it with
// its slots that hold a token; the caller finalises it. It fails when no
// token is present.
func openModule(path string) (*scenario.Loaded, []uint, error) {
	c, err := scenario.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Initialize(); err != nil {
		return nil, nil, err
	}
	slots, err := c.SlotList()
	if err != nil || len(slots) == 0 {
		c.Finalize()
		return nil, nil, fmt.Errorf("no token: %v", err)
	}
	return c, slots, nil
}
