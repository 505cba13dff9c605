package sim

import "github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"

// FaultKind selects what goes wrong.
type FaultKind int

// Faults the card can be told to commit.
const (
	// FaultNone clears any pending fault.
	FaultNone FaultKind = iota
	// FaultRemove takes the card out of its reader instead of answering:
	// transports get cardos.ErrCardRemoved, ServeVPCD closes the
	// connection. The card stays out until Reader.Insert.
	FaultRemove
	// FaultReset resets the card as if another application did, before
	// the command: in-process the command is not executed and the
	// transport gets cardos.ErrCardReset; through vpcd the command runs on
	// the freshly reset card (verified PINs gone).
	FaultReset
	// FaultGarbage executes the command and answers the single byte 0x6F
	// instead of the response (not a well-formed R-APDU).
	FaultGarbage
	// FaultTruncate executes the command and answers only the first half
	// (at least one byte) of the response.
	FaultTruncate
	// FaultWrongSW executes the command and replaces the status word by
	// Fault.SW.
	FaultWrongSW
	// FaultSilent does not execute or answer the command: in-process the
	// transport returns cardos.ErrTimeout after Options.Timeout; through
	// vpcd no reply is sent and the connection is closed after
	// Options.Timeout (a mute card the reader gives up on).
	FaultSilent
	// FaultLost executes the command and then gives no answer, as when a
	// contactless card or a phone leaves the field, or a reader gives up,
	// after the card acted: a VERIFY counted (or verified), a signature
	// computed, a PIN changed. The caller cannot know which. In-process
	// the transport returns cardos.ErrTimeout after Options.Timeout;
	// through vpcd no reply is sent and the connection is closed.
	FaultLost
)

// Fault describes one injected fault.
type Fault struct {
	// Kind is what happens.
	Kind FaultKind
	// After is the number of commands answered normally before the fault
	// strikes (0: the next command).
	After int
	// OnINS, when set, makes the fault strike only at a command whose
	// instruction byte is INS (the first one after After commands).
	OnINS bool
	// INS is the instruction byte OnINS matches.
	INS byte
	// SW is the status word FaultWrongSW answers; 0 means 6F00.
	SW apdu.SW
	// Repeat keeps the fault armed after it struck (every later matching
	// command strikes too). By default a fault strikes once.
	Repeat bool
}

type faultState struct {
	f    Fault
	seen int // commands since SetFault
}

// SetFault arms f, replacing any pending fault. FaultNone disarms.
func (c *Card) SetFault(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fault = faultState{f: f}
	if f.Kind == FaultNone {
		c.removed = false
	}
}

// next reports whether the pending fault strikes at this command.
func (s *faultState) next(cmd []byte) (Fault, bool) {
	if s.f.Kind == FaultNone {
		return Fault{}, false
	}
	s.seen++
	if s.seen <= s.f.After {
		return Fault{}, false
	}
	if s.f.OnINS && (len(cmd) < 2 || cmd[1] != s.f.INS) {
		return Fault{}, false
	}
	f := s.f
	if !f.Repeat {
		*s = faultState{}
	}
	return f, true
}

// corrupt applies a response fault.
func (f Fault) corrupt(resp []byte) []byte {
	switch f.Kind {
	case FaultGarbage:
		return []byte{0x6F}
	case FaultTruncate:
		return resp[:max(1, len(resp)/2)]
	case FaultWrongSW:
		sw := f.SW
		if sw == 0 {
			sw = apdu.SWNoPreciseDiagnosis
		}
		out := append([]byte(nil), resp[:len(resp)-2]...)
		return append(out, sw.SW1(), sw.SW2())
	}
	return resp
}
