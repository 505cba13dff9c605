package diag

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// Behaviour is what a report shows about a card where the simulator has
// a choice: the ATR, the answer of a tries query on a blocked PIN, the
// retry counters, the largest READ BINARY answer, and the latency per
// APDU and per signature. Everything else (keys, certificates, holder)
// is the simulator's own: a report carries none of it.
type Behaviour struct {
	ATR []byte
	// BlockedQuerySW is the tries-query answer seen on a blocked PIN, 0
	// when no blocked PIN was queried.
	BlockedQuerySW apdu.SW
	// AuthTries and SignTries are the counters the tries queries showed,
	// -1 when not seen.
	AuthTries, SignTries int
	// MaxResponse is the largest READ BINARY answer when the card gave
	// less than asked, else 0.
	MaxResponse int
	// LatencyAPDU is the median answer time of commands other than SIGN;
	// LatencySign what a SIGN took beyond that (median).
	LatencyAPDU, LatencySign time.Duration
	// ReselectClearsPINs says whether selecting the JPKI AP again, while
	// a PIN of it was verified, dropped the PIN: the next SIGN with that
	// PIN's key answered 6982, not 9000. nil when the APDUs do not show it
	// (diagnose --sign runs that probe).
	ReselectClearsPINs *bool
	// LeaveKeepsPINs says whether the card kept a PIN verified after
	// another applet was selected: the module's leave check (a command
	// the card runs only while the PIN is verified, sent right after the
	// first leave) answered 9000, not 6982. nil when the APDUs do not
	// show it (diagnose --sign or --sign-password makes the module log in).
	LeaveKeepsPINs *bool
	// AuthFullTries and SignFullTries are the counters a tries query
	// showed right after a successful VERIFY of the same PIN: the card's
	// counter with every try left (documented 3 and 5; no trace shows the
	// signature password's), -1 when not seen.
	AuthFullTries, SignFullTries int
}

// PIN EFs of the JPKI AP and the signature certificate's EF
// (cardos/jpki/FACTS.md §2).
const (
	fidAuthPIN  = "0018"
	fidSignPIN  = "001B"
	fidSignCert = "0001"
)

// pinOfKey maps the JPKI key EFs to the PIN EFs guarding them.
var pinOfKey = map[string]string{"0017": fidAuthPIN, "001A": fidSignPIN}

// Behaviour derives the simulator settings from the report's reader (the
// first with a card, or the one named in Options.Reader) and APDUs.
func (r *Report) Behaviour() (Behaviour, error) {
	b := Behaviour{AuthTries: -1, SignTries: -1, AuthFullTries: -1, SignFullTries: -1}
	reader := r.Options.Reader
	for _, rd := range r.Readers {
		if rd.Present && rd.ATR != "" && (reader == "" || rd.Name == reader) {
			atr, err := hex.DecodeString(rd.ATR)
			if err != nil {
				return b, fmt.Errorf("report: ATR %q: %w", rd.ATR, err)
			}
			b.ATR, reader = atr, rd.Name
			break
		}
	}
	if b.ATR == nil {
		return b, fmt.Errorf("report: no reader with a card")
	}
	// ef is the selected EF, verified the PIN EF verified since the last
	// applet selection, justVerified the one whose VERIFY was the last
	// command, left the PIN EF verified before another applet was
	// selected (the leave the module then checks).
	var ef, verified, reselected, justVerified, left string
	var plain, signs []float64
	maxResp, maxLe := 0, 0
	for _, a := range r.APDUs {
		if a.Reader != reader || a.SW == "" {
			continue
		}
		sw, err := strconv.ParseUint(a.SW, 16, 16)
		if err != nil {
			return b, fmt.Errorf("report: APDU %d: status word %q", a.Seq, a.SW)
		}
		last := justVerified
		justVerified = ""
		switch a.Command {
		case "SELECT AID":
			// A verified PIN of the JPKI AP survives the selection of
			// nothing else; the AP selected again is what the probe asks.
			reselected = ""
			if a.Target == jpkiAIDHex && apdu.SW(sw) == apdu.SWOK {
				reselected = verified
			}
			if a.Target != jpkiAIDHex && apdu.SW(sw) == apdu.SWOK && verified != "" {
				left = verified
			}
			ef, verified = "", ""
		case "SELECT EF":
			if sw == 0x9000 {
				ef = a.Target
			}
		case "VERIFY":
			if apdu.SW(sw) == apdu.SWOK {
				verified, justVerified, left = ef, ef, ""
			}
		case "SIGN":
			if pin := pinOfKey[ef]; pin != "" && pin == left {
				b.LeaveKeepsPINs = leaveWitness(apdu.SW(sw), b.LeaveKeepsPINs)
				left = ""
			}
			if pin := pinOfKey[ef]; pin != "" && pin == reselected && (apdu.SW(sw) == apdu.SWOK || apdu.SW(sw) == apdu.SWSecurityStatus) {
				cleared := apdu.SW(sw) == apdu.SWSecurityStatus
				b.ReselectClearsPINs = &cleared
			}
		case "tries query":
			tries := -1
			switch {
			case sw&0xFFF0 == 0x63C0:
				tries = int(sw & 0x0F)
			case sw == 0x6984:
				tries = 0
			}
			if tries == 0 {
				b.BlockedQuerySW = apdu.SW(sw)
			}
			if last == ef && tries > 0 {
				switch ef {
				case fidAuthPIN:
					b.AuthFullTries = tries
				case fidSignPIN:
					b.SignFullTries = tries
				}
			}
			// The first query shows the card as it came; later ones follow
			// the probe's own login.
			switch {
			case ef == fidAuthPIN && b.AuthTries < 0:
				b.AuthTries = tries
			case ef == fidSignPIN && b.SignTries < 0:
				b.SignTries = tries
			}
		case "READ BINARY":
			if ef == fidSignCert && left == fidSignPIN {
				b.LeaveKeepsPINs = leaveWitness(apdu.SW(sw), b.LeaveKeepsPINs)
				left = ""
			}
			if sw == 0x9000 && a.RespLen >= 0 {
				maxResp = max(maxResp, a.RespLen)
				maxLe = max(maxLe, a.Le)
			}
		}
		if a.Command == "SIGN" && sw == 0x9000 {
			signs = append(signs, a.DurMS)
		} else {
			plain = append(plain, a.DurMS)
		}
	}
	if maxResp > 0 && maxResp < maxLe {
		b.MaxResponse = maxResp
	}
	b.LatencyAPDU = msDuration(median(plain))
	if len(signs) > 0 {
		b.LatencySign = max(0, msDuration(median(signs))-b.LatencyAPDU)
	}
	return b, nil
}

// leaveWitness reads the answer to the module's leave check: 9000 means
// the PIN stayed verified, 6982 that the card forgot it; anything else
// says nothing and keeps what was known.
func leaveWitness(sw apdu.SW, known *bool) *bool {
	switch sw {
	case apdu.SWOK:
		return new(true)
	case apdu.SWSecurityStatus:
		if known != nil && *known {
			return known // one PIN kept is enough to need the reset
		}
		return new(false)
	}
	return known
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Millisecond)
}

// Options returns opt with the report's ATR, READ cap and latencies.
func (b Behaviour) Options(opt sim.Options) sim.Options {
	opt.ATR = append([]byte(nil), b.ATR...)
	opt.MaxResponse = b.MaxResponse
	opt.LatencyAPDU, opt.LatencySign = b.LatencyAPDU, b.LatencySign
	return opt
}

// Apply stores the quirks (blocked-query answer, re-select behaviour)
// and the retry counters on card c.
func (b Behaviour) Apply(c *sim.Card) error {
	q := c.Quirks()
	if b.BlockedQuerySW != 0 {
		q.BlockedQuerySW = b.BlockedQuerySW
		if b.BlockedQuerySW == 0x63C0 {
			q.BlockedQuerySW = 0 // the default
		}
	}
	if b.ReselectClearsPINs != nil {
		q.ReselectClearsPINs = *b.ReselectClearsPINs
	}
	if b.LeaveKeepsPINs != nil {
		q.LeaveKeepsPINs = *b.LeaveKeepsPINs
	}
	if b.SignFullTries > 0 {
		q.SignMaxTries = b.SignFullTries
	}
	if err := c.SetQuirks(q); err != nil {
		return err
	}
	for key, n := range map[int]int{1: b.AuthTries, 2: b.SignTries} {
		if n >= 0 {
			if err := c.SetTriesLeft(key, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// String describes the behaviour in one line.
func (b Behaviour) String() string {
	var parts []string
	parts = append(parts, "ATR "+strings.ToUpper(hex.EncodeToString(b.ATR)))
	if b.BlockedQuerySW != 0 {
		parts = append(parts, fmt.Sprintf("blocked query %04X", uint16(b.BlockedQuerySW)))
	}
	if b.AuthTries >= 0 {
		parts = append(parts, fmt.Sprintf("auth tries %d", b.AuthTries))
	}
	if b.SignTries >= 0 {
		parts = append(parts, fmt.Sprintf("sign tries %d", b.SignTries))
	}
	if b.MaxResponse > 0 {
		parts = append(parts, fmt.Sprintf("READ answers at most %d bytes", b.MaxResponse))
	}
	if b.ReselectClearsPINs != nil {
		parts = append(parts, fmt.Sprintf("re-selecting the AP clears PINs: %v", *b.ReselectClearsPINs))
	}
	if b.LeaveKeepsPINs != nil {
		parts = append(parts, fmt.Sprintf("selecting another applet keeps PINs: %v", *b.LeaveKeepsPINs))
	}
	if b.AuthFullTries >= 0 {
		parts = append(parts, fmt.Sprintf("auth full counter %d", b.AuthFullTries))
	}
	if b.SignFullTries >= 0 {
		parts = append(parts, fmt.Sprintf("sign full counter %d", b.SignFullTries))
	}
	parts = append(parts, fmt.Sprintf("latency %v per APDU, %v per signature", b.LatencyAPDU, b.LatencySign))
	return strings.Join(parts, ", ")
}
