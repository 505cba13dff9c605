package sim

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Stats counts what the card processed since it was created (or since
// ResetStats).
type Stats struct {
	// APDUs is the number of commands answered.
	APDUs uint64
	// ByINS counts commands per instruction byte.
	ByINS map[byte]uint64
	// Verifies counts VERIFY commands carrying a PIN (retry queries are
	// not counted here, only in ByINS).
	Verifies uint64
	// Signatures counts signatures computed.
	Signatures uint64
	// Resets counts power cycles and resets.
	Resets uint64
	// Selects counts SELECT by DF name answered 9000, per applet: "jpki",
	// "text", "visual", "common", "juki", "isd".
	Selects map[string]uint64
	// OtherApplet counts the commands (other than SELECT by DF name) that
	// reached an applet other than the JPKI AP: EF SELECT, VERIFY, READ...
	OtherApplet uint64
}

func (s *Stats) countSelect(app string) {
	if s.Selects == nil {
		s.Selects = map[string]uint64{}
	}
	s.Selects[app]++
}

func (s *Stats) count(cmd []byte) {
	s.APDUs++
	if len(cmd) >= 2 {
		if s.ByINS == nil {
			s.ByINS = map[byte]uint64{}
		}
		s.ByINS[cmd[1]]++
	}
}

// Stats returns a copy of the card's counters.
func (c *Card) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.ByINS = make(map[byte]uint64, len(c.stats.ByINS))
	for k, v := range c.stats.ByINS {
		s.ByINS[k] = v
	}
	s.Selects = make(map[string]uint64, len(c.stats.Selects))
	for k, v := range c.stats.Selects {
		s.Selects[k] = v
	}
	return s
}

// ResetStats sets every counter back to zero.
func (c *Card) ResetStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats = Stats{}
}

func (c *Card) tracef(format string, args ...any) {
	if c.opt.Trace != nil {
		fmt.Fprintf(c.opt.Trace, format+"\n", args...)
	}
}

// traceCommand writes the command, with the data of VERIFY and CHANGE
// REFERENCE DATA (PINs) redacted.
func (c *Card) traceCommand(raw []byte) {
	if c.opt.Trace == nil {
		return
	}
	if len(raw) > 5 && (raw[1] == apdu.INSVerify || raw[1] == apdu.INSChangeReferenceData || raw[1] == apdu.INSChangeKey) {
		c.tracef("sim> %s [%d bytes redacted]", spaced(raw[:5]), len(raw)-5)
		return
	}
	c.tracef("sim> %s", spaced(raw))
}

// traceResponse writes the response, with the signature certificate's
// bytes redacted.
func (c *Card) traceResponse(cmd, resp []byte) {
	if c.opt.Trace == nil {
		return
	}
	if len(resp) > 2 && len(cmd) >= 2 && (cmd[1] == apdu.INSReadBinary || cmd[1] == apdu.INSReadRecord) && c.inOtherApplet() {
		if e, found := lookupOtherEF(c.app, c.ef); found && e.personal {
			n := len(resp) - 2
			c.tracef("sim< [%d bytes of %s EF %04X redacted] %s", n, appletNames[c.app], c.ef, spaced(resp[n:]))
			return
		}
	}
	if len(resp) > 2 && len(cmd) >= 2 && cmd[1] == apdu.INSReadBinary && c.app == appJPKI && c.efSelected && c.ef == efSignCert {
		n := len(resp) - 2
		c.tracef("sim< [%d bytes of the signature certificate redacted] %s", n, spaced(resp[n:]))
		return
	}
	if len(resp) >= 2 {
		n := len(resp) - 2
		sw := apdu.SW(uint16(resp[n])<<8 | uint16(resp[n+1]))
		if n > 0 {
			c.tracef("sim< %s %s", hex.EncodeToString(resp[:n]), sw)
			return
		}
		c.tracef("sim< %s", sw)
		return
	}
	c.tracef("sim< %s (malformed)", spaced(resp))
}

func spaced(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i < 5 {
			sb.WriteByte(' ')
		}
		if i == 5 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", x)
	}
	return sb.String()
}
