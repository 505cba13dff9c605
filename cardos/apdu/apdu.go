// Package apdu encodes ISO 7816-4 command APDUs and decodes response APDUs.
//
// Only what the My Number Card needs is here: short and extended command
// cases 1–4, status words with readable errors, and the card-side parser
// the simulator uses.
package apdu

import (
	"errors"
	"fmt"
)

// Command is one command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	// Data is the command data field (Lc is its length). Empty means no
	// data field.
	Data []byte
	// Le is the number of response bytes expected: 0 means none (no Le
	// field), 256 is encoded as the short Le byte 00, 65536 as the
	// extended 0000.
	Le int
	// Extended forces the extended length encoding.
	Extended bool
}

// ErrTooLong is returned for a data field or Le that cannot be encoded.
var ErrTooLong = errors.New("apdu: data or Le too long to encode")

// Bytes encodes the command. It returns ErrTooLong when Data or Le exceed
// the extended-length limits.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > 65535 || c.Le < 0 || c.Le > 65536 {
		return nil, ErrTooLong
	}
	ext := c.Extended || len(c.Data) > 255 || c.Le > 256
	b := make([]byte, 4, 4+3+len(c.Data)+3)
	b[0], b[1], b[2], b[3] = c.CLA, c.INS, c.P1, c.P2
	if len(c.Data) > 0 {
		if ext {
			b = append(b, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
		} else {
			b = append(b, byte(len(c.Data)))
		}
		b = append(b, c.Data...)
	}
	if c.Le > 0 {
		switch {
		case ext && len(c.Data) > 0:
			b = append(b, byte(c.Le>>8), byte(c.Le)) // 65536 wraps to 0000
		case ext:
			b = append(b, 0, byte(c.Le>>8), byte(c.Le))
		default:
			b = append(b, byte(c.Le)) // 256 wraps to 00
		}
	}
	return b, nil
}

// ErrMalformed is returned by Parse for bytes that are not a command APDU.
var ErrMalformed = errors.New("apdu: malformed command")

// Parse decodes a command APDU, the card's side of Bytes. It accepts every
// short and extended case and returns ErrMalformed (wrapped) otherwise.
func Parse(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, need at least 4", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2 short
		c.Le = int(body[0])
		if c.Le == 0 {
			c.Le = 256
		}
	case body[0] != 0 || len(body) == 1+int(body[0]) || len(body) == 2+int(body[0]):
		lc := int(body[0])
		if lc == 0 || (len(body) != 1+lc && len(body) != 2+lc) {
			return Command{}, fmt.Errorf("%w: Lc %d does not match %d body bytes", ErrMalformed, lc, len(body))
		}
		c.Data = append([]byte(nil), body[1:1+lc]...)
		if len(body) == 2+lc {
			c.Le = int(body[1+lc])
			if c.Le == 0 {
				c.Le = 256
			}
		}
	default: // extended: body[0] == 0
		c.Extended = true
		if len(body) == 3 { // case 2 extended
			c.Le = int(body[1])<<8 | int(body[2])
			if c.Le == 0 {
				c.Le = 65536
			}
			return c, nil
		}
		if len(body) < 3 {
			return Command{}, fmt.Errorf("%w: truncated extended length", ErrMalformed)
		}
		lc := int(body[1])<<8 | int(body[2])
		rest := body[3:]
		if lc == 0 || (len(rest) != lc && len(rest) != lc+2) {
			return Command{}, fmt.Errorf("%w: extended Lc %d does not match %d bytes", ErrMalformed, lc, len(rest))
		}
		c.Data = append([]byte(nil), rest[:lc]...)
		if len(rest) == lc+2 {
			c.Le = int(rest[lc])<<8 | int(rest[lc+1])
			if c.Le == 0 {
				c.Le = 65536
			}
		}
	}
	return c, nil
}

// String formats the command header and lengths, never the data, so that
// it is safe to log (VERIFY carries a PIN).
func (c Command) String() string {
	return fmt.Sprintf("%02X %02X %02X %02X Lc=%d Le=%d", c.CLA, c.INS, c.P1, c.P2, len(c.Data), c.Le)
}
