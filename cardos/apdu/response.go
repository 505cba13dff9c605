package apdu

import (
	"errors"
	"fmt"
)

// SW is a status word, SW1 in the high byte and SW2 in the low byte.
type SW uint16

// Status words the JPKI applet answers.
const (
	SWOK                 SW = 0x9000
	SWWarnEndOfFile      SW = 0x6282 // end of file reached before Le bytes
	SWNoTriesLeft        SW = 0x63C0 // the PIN is locked; 63Cx (x > 0): wrong PIN, x tries left
	SWWrongLength        SW = 0x6700
	SWIncompatibleFile   SW = 0x6981 // command incompatible with file structure
	SWSecurityStatus     SW = 0x6982 // security status not satisfied (PIN first)
	SWAuthBlocked        SW = 0x6983
	SWRefDataBlocked     SW = 0x6984 // reference data not usable: PIN locked
	SWConditionsNotMet   SW = 0x6985
	SWWrongData          SW = 0x6A80
	SWFileNotFound       SW = 0x6A82
	SWIncorrectP1P2      SW = 0x6A86
	SWWrongP1P2          SW = 0x6B00 // offset outside the EF
	SWINSNotSupported    SW = 0x6D00
	SWCLANotSupported    SW = 0x6E00
	SWNoPreciseDiagnosis SW = 0x6F00
)

// SW1 returns the first status byte.
func (s SW) SW1() byte { return byte(s >> 8) }

// SW2 returns the second status byte.
func (s SW) SW2() byte { return byte(s) }

// IsTriesLeft reports whether s is 63Cx, a VERIFY answer carrying the
// number of tries left.
func (s SW) IsTriesLeft() bool { return s&0xFFF0 == 0x63C0 }

// TriesLeftSW returns 63Cx for n tries left (0 to 15): a wrong PIN
// with n tries left, or for n = 0 the PIN now locked.
func TriesLeftSW(n int) SW { return SWNoTriesLeft | SW(n&0x0F) }

// TriesLeft returns x of a 63Cx status word.
func (s SW) TriesLeft() int { return int(s & 0x0F) }

var swText = map[SW]string{
	SWOK:                 "success",
	SWWarnEndOfFile:      "end of file reached before Le bytes",
	SWWrongLength:        "wrong length",
	SWIncompatibleFile:   "command incompatible with file structure",
	SWSecurityStatus:     "security status not satisfied (verify the PIN first)",
	SWAuthBlocked:        "authentication method blocked",
	SWRefDataBlocked:     "reference data not usable (PIN locked)",
	SWConditionsNotMet:   "conditions of use not satisfied",
	SWWrongData:          "incorrect data field",
	SWFileNotFound:       "file or application not found",
	SWIncorrectP1P2:      "incorrect P1 P2",
	SWWrongP1P2:          "wrong parameters (offset outside the file)",
	SWINSNotSupported:    "instruction not supported",
	SWCLANotSupported:    "class not supported",
	SWNoPreciseDiagnosis: "no precise diagnosis",
}

// String returns the status word in hex with its meaning.
func (s SW) String() string {
	if s.IsTriesLeft() {
		return fmt.Sprintf("%04X (wrong PIN, %d tries left)", uint16(s), s.TriesLeft())
	}
	if t, ok := swText[s]; ok {
		return fmt.Sprintf("%04X (%s)", uint16(s), t)
	}
	return fmt.Sprintf("%04X", uint16(s))
}

// Error is a status word other than 9000 returned as an error.
type Error struct {
	// SW is the status word the card answered.
	SW SW
	// Cmd names the command, for the message.
	Cmd string
}

func (e *Error) Error() string {
	if e.Cmd == "" {
		return "card answered " + e.SW.String()
	}
	return e.Cmd + ": card answered " + e.SW.String()
}

// ErrShortResponse is returned for a response of fewer than two bytes.
var ErrShortResponse = errors.New("apdu: response shorter than a status word")

// Response is a decoded response APDU.
type Response struct {
	Data []byte
	SW   SW
}

// ParseResponse splits a response APDU into data and status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w (%d bytes)", ErrShortResponse, len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: SW(uint16(b[n])<<8 | uint16(b[n+1]))}, nil
}

// Bytes encodes the response, data followed by SW1 SW2.
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, r.SW.SW1(), r.SW.SW2())
}

// Err returns nil for 9000 and an *Error naming cmd otherwise.
func (r Response) Err(cmd string) error {
	if r.SW == SWOK {
		return nil
	}
	return &Error{SW: r.SW, Cmd: cmd}
}
