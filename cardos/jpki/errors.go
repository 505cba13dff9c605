package jpki

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Errors reported by the Client. Callers test them with errors.Is; the
// status word that caused them stays available with errors.As to
// *apdu.Error.
var (
	// ErrNotJPKI means the card has no JPKI applet: SELECT by AID was
	// refused with 6A82 (not found), 6A86 (wrong P1-P2), 6D00 or 6E00
	// (instruction or class not supported). Any other refusal (6Fxx,
	// 64xx, 65xx: a bad contact, a glitch) is a plain *apdu.Error, after
	// which the next look must try again.
	ErrNotJPKI = errors.New("jpki: the card has no JPKI applet (not a My Number Card?)")
	// ErrNotFound means the file is absent or empty (6A82, or an EF that
	// holds no certificate, as on cards without a signature certificate).
	ErrNotFound = errors.New("jpki: file not found or empty on the card")
	// ErrPINRequired means the operation needs the key's PIN to be
	// verified first (6982).
	ErrPINRequired = errors.New("jpki: PIN not verified (verify the PIN first)")
	// ErrPINLocked means the PIN is blocked (63C0, 6983 or 6984). Only the
	// municipal office can unblock it.
	ErrPINLocked = errors.New("jpki: PIN is locked (it can only be reset at the municipal office)")
	// ErrResetRequired is returned by Logout when no other applet could be
	// selected: the caller must reset the card (Transport.End(true)) to
	// drop the verified PINs, then call Forget.
	ErrResetRequired = errors.New("jpki: could not leave the applet; reset the card to log out")
	// ErrBadPINLength means an empty or over-long PIN (or new PIN); it
	// is returned before anything reaches the card.
	ErrBadPINLength = errors.New("jpki: PIN length out of range")
	// ErrBadDataLength means signature input outside 1–245 bytes or a
	// header length out of range; returned before anything reaches the
	// card.
	ErrBadDataLength = errors.New("jpki: input length out of range")
)

// WrongPINError is returned by Verify (and TriesLeft never) when the card
// rejected the PIN and still allows TriesLeft more attempts (63Cx, x > 0).
type WrongPINError struct {
	// TriesLeft is the number of attempts the card still allows.
	TriesLeft int
}

func (e *WrongPINError) Error() string {
	if e.TriesLeft == 1 {
		return "jpki: wrong PIN, 1 try left before the PIN locks"
	}
	return fmt.Sprintf("jpki: wrong PIN, %d tries left", e.TriesLeft)
}

// swError turns a status word other than 9000 into an error for the
// operation op, mapping it to this package's sentinels and keeping the
// *apdu.Error wrapped.
func swError(op string, sw apdu.SW) error {
	ae := &apdu.Error{SW: sw, Cmd: op}
	switch {
	case sw == apdu.SWSecurityStatus:
		return fmt.Errorf("%w: %w", ErrPINRequired, ae)
	case sw == apdu.SWAuthBlocked, sw == apdu.SWRefDataBlocked, sw == apdu.SWNoTriesLeft:
		return fmt.Errorf("%w: %w", ErrPINLocked, ae)
	case sw.IsTriesLeft():
		return fmt.Errorf("%w: %w", &WrongPINError{TriesLeft: sw.TriesLeft()}, ae)
	case sw == apdu.SWFileNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, ae)
	}
	return fmt.Errorf("jpki: %w", ae)
}

// notJPKI reports whether a refused SELECT of the JPKI applet means the
// card has no such applet (see ErrNotJPKI).
func notJPKI(sw apdu.SW) bool {
	switch sw {
	case apdu.SWFileNotFound, apdu.SWIncorrectP1P2, apdu.SWINSNotSupported, apdu.SWCLANotSupported:
		return true
	}
	return false
}

// commError reports a malformed answer of the card.
func commError(format string, args ...any) error {
	return fmt.Errorf("jpki: "+format+": %w", append(args, cardos.ErrCommFailure)...)
}
