//go:build mynatest

package backend

// Test-only remote control of the in-process simulator.
//
// A test that loads the module (.so) into a process cannot reach the
// simulated card inside it. MYNA_PKCS11_SIM_CONTROL=<file>, set together
// with MYNA_PKCS11_SIM, lets it: before every reader listing, connection,
// transaction and command, the module looks at <file> and, when its content
// changed since last time, runs the commands in it, one per line:
//
//	fault KIND[,after=N][,ins=XX][,sw=XXXX][,repeat]   arm a sim.Fault on
//	                 the card in the reader (KIND remove, reset, garbage,
//	                 truncate, wrong-sw, silent, lost; "none" disarms every card)
//	remove           take the card out of the reader
//	insert           put the original card (MYNA_PKCS11_SIM) back in
//	swap PATH        put the card of another state file in the reader
//	reset            reset the card as another application would
//	unplug / plug    remove the reader from the system / plug it back
//
// Lines starting with '#' are ignored: write a counter there to run the
// same commands again. Commands take effect at the module's next card
// operation, so a test writes the file and then makes the call it wants
// disturbed: no timing is involved.
//
// After every command the card answered, the module writes the counters
// of every card it used to <file>.stats (JSON, see ControlStats), so the
// test can count the VERIFY commands the card really received.
//
// This exists for the reliability tests (test/faults, test/hostile) and
// is built only with the build tag mynatest (the test library
// build/out/libmyna-pkcs11-test.so that make test builds); the shipped
// module has none of it. It is inert unless both variables are set, and
// it never applies to PC/SC.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// simReaderName is the reader of the in-process simulator.
const simReaderName = "Myna Simulator 00 00"

// controlled is a sim.Context driven by a control file.
type controlled struct {
	*sim.Context
	path   string
	reader *sim.Reader
	opt    sim.Options // the device of every card inserted

	mu      sync.Mutex
	last    string
	cards   map[string]*sim.Card // by state path; the original first
	orig    string
	applied int
	errs    []string
	plugged bool
}

func openControlled(statePath, control string, opt sim.Options) (cardos.Context, error) {
	card, err := sim.Open(statePath, opt)
	if err != nil {
		return nil, err
	}
	r := sim.NewReader(simReaderName)
	r.Insert(card)
	c := &controlled{
		Context: sim.NewContext(r), path: control, reader: r,
		cards: map[string]*sim.Card{statePath: card}, orig: statePath, plugged: true, opt: opt,
	}
	c.poll()
	return c, nil
}

// poll runs the control file's commands when it changed.
func (c *controlled) poll() {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if string(b) == c.last {
		return
	}
	c.last = string(b)
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := c.run(line); err != nil {
			c.errs = append(c.errs, fmt.Sprintf("%q: %v", line, err))
		}
		c.applied++
	}
	c.writeStatsLocked()
}

func (c *controlled) run(line string) error {
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "fault":
		f, err := sim.ParseFault(arg)
		if err != nil {
			return err
		}
		// Arm the card in the reader; with none there (or to disarm),
		// every card this control knows.
		if card := c.reader.Card(); card != nil && f.Kind != sim.FaultNone {
			card.SetFault(f)
		} else {
			for _, card := range c.cards {
				card.SetFault(f)
			}
		}
	case "remove":
		c.reader.Remove()
	case "insert":
		c.reader.Insert(c.cards[c.orig])
	case "swap":
		card, ok := c.cards[arg]
		if !ok {
			var err error
			if card, err = sim.Open(arg, c.opt); err != nil {
				return err
			}
			c.cards[arg] = card
		}
		c.reader.Insert(card)
	case "reset":
		if card := c.reader.Card(); card != nil {
			card.Reset()
		}
	case "unplug":
		if c.plugged {
			c.Context.RemoveReader(simReaderName)
			c.plugged = false
		}
	case "plug":
		if !c.plugged {
			c.Context.AddReader(c.reader)
			c.plugged = true
		}
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

// writeStatsLocked writes <control>.stats atomically.
func (c *controlled) writeStatsLocked() {
	out := ControlStats{Cards: map[string]CardStats{}, Applied: c.applied, Errors: c.errs}
	for p, card := range c.cards {
		s := card.Stats()
		cs := CardStats{APDUs: s.APDUs, Verifies: s.Verifies, Signatures: s.Signatures, Resets: s.Resets, ByINS: map[string]uint64{}}
		for ins, n := range s.ByINS {
			cs.ByINS[fmt.Sprintf("%02X", ins)] = n
		}
		out.Cards[p] = cs
	}
	b, err := json.Marshal(out)
	if err != nil {
		return
	}
	tmp := c.path + ".stats.tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, c.path+".stats")
	}
}

func (c *controlled) writeStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeStatsLocked()
}

func (c *controlled) Readers() ([]cardos.ReaderStatus, error) {
	c.poll()
	return c.Context.Readers()
}

func (c *controlled) Connect(reader string) (cardos.Transport, error) {
	c.poll()
	t, err := c.Context.Connect(reader)
	if err != nil {
		return nil, err
	}
	return &controlledTransport{Transport: t, c: c}, nil
}

func (c *controlled) WaitChange(ctx context.Context, known []cardos.ReaderStatus) ([]cardos.ReaderStatus, error) {
	c.poll()
	return c.Context.WaitChange(ctx, known)
}

// controlledTransport polls the control file before each operation and
// writes the counters after each command.
type controlledTransport struct {
	cardos.Transport
	c *controlled
}

func (t *controlledTransport) Transmit(cmd []byte) ([]byte, error) {
	t.c.poll()
	resp, err := t.Transport.Transmit(cmd)
	t.c.writeStats()
	return resp, err
}

func (t *controlledTransport) Begin() error {
	t.c.poll()
	return t.Transport.Begin()
}
