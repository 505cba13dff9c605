package p11

// This file holds one card conversation: a PC/SC transaction around the
// jpki client, reconnection, resets by other programs, and the mapping of
// card errors to CKR codes.

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// mapCardErr turns a cardos or jpki error into a PKCS#11 error, keeping
// the original text for the log.
func mapCardErr(err error) error {
	if err == nil {
		return nil
	}
	var ce ck.Error
	if errors.As(err, &ce) {
		return err
	}
	var wrong *cardos.WrongPINError
	rv := uint(ck.CKR_DEVICE_ERROR)
	switch {
	case errors.Is(err, ErrPINChangeUnconfirmed):
		rv = ck.CKR_FUNCTION_FAILED
	case isGone(err):
		rv = ck.CKR_DEVICE_REMOVED
	case errors.Is(err, cardos.ErrPINLocked):
		rv = ck.CKR_PIN_LOCKED
	case errors.As(err, &wrong):
		rv = ck.CKR_PIN_INCORRECT
	case errors.Is(err, cardos.ErrPINRequired):
		rv = ck.CKR_USER_NOT_LOGGED_IN
	case errors.Is(err, cardos.ErrBadPINLength):
		rv = ck.CKR_PIN_LEN_RANGE
	case errors.Is(err, cardos.ErrBadDataLength):
		rv = ck.CKR_DATA_LEN_RANGE
	}
	return fmt.Errorf("%w: %w", ck.Error(rv), err)
}

// do runs fn as one card conversation inside a transaction.
func (c *card) do(ctx cardos.Context, what string, fn func(cl *jpki.Client) error) error {
	c.io.Lock()
	defer c.io.Unlock()
	return c.doIO(ctx, what, fn)
}

// doIO runs fn inside Transport.Begin/End; the caller holds c.io. It
// connects when needed, handles a reset by another application (the card
// forgot every PIN: the tokens in ScopeSession are logged out, the client
// forgets its selection and fn runs once more) and marks the card removed
// when it is gone. After a new connection to a card probed before, or a
// reset, it first proves that the card is still the same (proveIO), and
// marks it removed when it is not. A connection that died while the card
// sat idle (pcscd restarted) is met at Begin, before anything is sent:
// it connects again once and goes on, so that the call works.
func (c *card) doIO(ctx cardos.Context, what string, fn func(cl *jpki.Client) error) error {
	if c.isRemoved() {
		return errDeviceRemoved
	}
	fresh := false
	if c.t == nil {
		if ctx == nil {
			return errDeviceRemoved
		}
		if err := c.connectIO(ctx); err != nil {
			return c.fail(ctx, what, err)
		}
		fresh = true
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = c.cl.Begin()
		if transportLost(err) && !fresh && ctx != nil {
			c.log.infof("reader %q: %s: the connection was lost while the card was idle (%v): connecting again", c.reader, what, err)
			c.closeTransportIO()
			if err = c.connectIO(ctx); err != nil {
				return c.fail(ctx, what, err)
			}
			fresh = true
			err = c.cl.Begin()
		}
		if err != nil && !errors.Is(err, cardos.ErrCardReset) {
			return c.fail(ctx, what, err)
		}
		if err != nil {
			c.onReset()
		}
		c.endReset = false
		c.verifiedInTx = [2]bool{}
		err = c.proveIO(c.cl)
		if err == nil {
			err = fn(c.cl)
		}
		reset := c.endReset && !isGone(err)
		endErr := c.cl.End(reset)
		c.endReset = false
		if reset {
			c.mu.Lock()
			c.lostCardStateLocked("the transaction ended with a card reset")
			c.mu.Unlock()
		}
		if errors.Is(err, cardos.ErrCardReset) {
			c.onReset()
			continue
		}
		if err == nil && endErr != nil && !errors.Is(endErr, cardos.ErrCardReset) {
			err = endErr
		}
		break
	}
	if err != nil {
		return c.fail(ctx, what, err)
	}
	return nil
}

// connectIO opens a new connection to the reader's card; the caller
// holds c.io and c.t is nil. When the card was probed before, the card
// now in the reader must prove to be the same before the next command
// (proveIO): a restarted service or a reader plugged again may hold
// another card.
func (c *card) connectIO(ctx cardos.Context) error {
	t, err := ctx.Connect(c.reader)
	if err != nil {
		return err
	}
	c.t, c.cl = t, jpki.NewClient(t)
	c.mustProve = c.isProbed()
	return nil
}

// onReset records that the card lost its security state (another
// application reset it); the caller holds c.io. The card must prove its
// identity again before the conversation goes on.
func (c *card) onReset() {
	c.mu.Lock()
	c.lostCardStateLocked("the card was reset by another application")
	c.mu.Unlock()
	c.cl.Forget()
	c.mustProve = c.isProbed()
}

// fail maps err, marks the card removed when it is gone and logs; the
// caller holds c.io. An error that would be CKR_DEVICE_ERROR is checked
// against the reader (no card traffic): a card taken out in the middle of
// a command often shows as a communication error or a time-out, and the
// application is owed CKR_DEVICE_REMOVED then.
func (c *card) fail(ctx cardos.Context, what string, err error) error {
	if ck.RV(mapCardErr(err)) == ck.CKR_DEVICE_ERROR && c.cardGoneFrom(ctx) {
		err = fmt.Errorf("%w (the reader holds no card any more: %w)", err, cardos.ErrCardRemoved)
	}
	mapped := mapCardErr(err)
	switch ck.RV(mapped) {
	case ck.CKR_DEVICE_REMOVED:
		c.mu.Lock()
		c.removed = true
		c.setLoggedOutLocked()
		c.mu.Unlock()
		c.closeTransportIO()
	case ck.CKR_USER_NOT_LOGGED_IN:
		// The card says the PIN is not verified (another program logged
		// out or reset it): believe it.
		c.mu.Lock()
		c.lostCardStateLocked("the card says the PIN is no longer verified (another program logged out?)")
		c.mu.Unlock()
	default:
		if transportLost(err) {
			// pcscd restarted, the card stopped answering or answered
			// garbage: connect afresh at the next call instead of
			// reusing a handle that may be dead.
			c.closeTransportIO()
		}
	}
	c.log.infof("reader %q: %s: %v", c.reader, what, err)
	return mapped
}

// cardGoneFrom reports whether the reader, as the service lists it now,
// no longer holds a card (or is gone). A service that cannot be asked
// says nothing.
func (c *card) cardGoneFrom(ctx cardos.Context) bool {
	if ctx == nil {
		return false
	}
	st, err := ctx.Readers()
	if err != nil {
		return false
	}
	for _, s := range st {
		if s.Name == c.reader {
			return !s.Present
		}
	}
	return true
}

// transportLost reports whether err leaves the connection to the card in
// doubt, so that the next conversation connects again.
func transportLost(err error) bool {
	return errors.Is(err, cardos.ErrNoService) || errors.Is(err, cardos.ErrTimeout) || errors.Is(err, cardos.ErrCommFailure)
}

// isGone reports whether err says the card or its reader is gone: a
// transaction meant to end with a reset then ends without one, since
// there is nothing to reset (and pcsc-lite, asked to reset a card that
// left, marks the reader empty until its next poll sees the card again).
func isGone(err error) bool {
	return errors.Is(err, cardos.ErrCardRemoved) || errors.Is(err, cardos.ErrReaderGone) || errors.Is(err, cardos.ErrNoCard)
}

// closeTransportIO disconnects; the caller holds c.io.
func (c *card) closeTransportIO() {
	if c.t != nil {
		c.t.Close()
		c.t, c.cl = nil, nil
	}
}

// cardLevel reports whether err is about the card or its connection
// (removed, reset, gone, mute) rather than about one file, so that a
// conversation must stop at it.
func cardLevel(err error) bool {
	return err != nil && (errors.Is(err, cardos.ErrCardReset) || isGone(err) || transportLost(err))
}
