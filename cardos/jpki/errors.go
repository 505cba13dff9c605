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
	// ErrResetRequired is returned by Logout when no other applet could be
	// selected: the caller must reset the card (Transport.End(true)) to
	// drop the verified PINs, then call Forget.
	ErrResetRequired = errors.New("jpki: could not leave the applet; reset the card to log out")
)

// swError turns a status word other than 9000 into an error for the
// operation op, mapping it to this package's sentinels and keeping the
// *apdu.Error wrapped.
func swError(op string, sw apdu.SW) error {
	ae := &apdu.Error{SW: sw, Cmd: op}
	switch {
	case sw == apdu.SWSecurityStatus:
		return fmt.Errorf("%w: %w", cardos.ErrPINRequired, ae)
	case sw == apdu.SWAuthBlocked, sw == apdu.SWRefDataBlocked, sw == apdu.SWNoTriesLeft:
		return fmt.Errorf("%w: %w", cardos.ErrPINLocked, ae)
	case sw.IsTriesLeft():
		return fmt.Errorf("%w: %w", &cardos.WrongPINError{TriesLeft: sw.TriesLeft()}, ae)
	case sw == apdu.SWFileNotFound:
		return fmt.Errorf("%w: %w", cardos.ErrNotFound, ae)
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
