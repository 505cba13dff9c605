package mynacard

// This file holds one card conversation: a PC/SC transaction around the
// jpki client, reconnection, resets by other programs, and what a failed
// conversation means for the insertion.

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// do runs fn as one card conversation inside a transaction.
func (c *Card) do(what string, fn func(cl *jpki.Client) error) error {
	c.io.Lock()
	defer c.io.Unlock()
	return c.doIO(what, fn)
}

// doIO runs fn inside Begin/End; the caller holds c.io. It connects when
// needed, handles a reset by another application (the card forgot every
// PIN: the keys in scope session are logged out, the client forgets its
// selection and fn runs once more) and marks the card removed when it is
// gone. After a new connection to a card probed before, or a reset, it
// first proves that the card is still the same (proveIO), and marks it
// removed when it is not. A connection that died while the card sat idle
// (pcscd restarted) is met at Begin, before anything is sent: it connects
// again once and goes on, so that the call works.
func (c *Card) doIO(what string, fn func(cl *jpki.Client) error) error {
	if c.Removed() {
		return errGone
	}
	fresh := false
	if c.t == nil {
		if err := c.connectIO(); err != nil {
			return c.fail(what, err)
		}
		fresh = true
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = c.cl.Begin()
		if transportLost(err) && !fresh {
			c.log.Infof("reader %q: %s: the connection was lost while the card was idle (%v): connecting again", c.reader, what, err)
			c.closeTransportIO()
			if err = c.connectIO(); err != nil {
				return c.fail(what, err)
			}
			fresh = true
			err = c.cl.Begin()
		}
		if err != nil && !errors.Is(err, cardos.ErrCardReset) {
			return c.fail(what, err)
		}
		if err != nil {
			c.onReset()
		}
		c.endReset = false
		c.verifiedInTx, c.verifiedBefore = [2]bool{}, [2]bool{}
		err = c.proveIO(c.cl)
		if err == nil {
			err = fn(c.cl)
		}
		reset := c.endReset && !cardos.Gone(err)
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
		return c.fail(what, err)
	}
	return nil
}

// connectIO opens a new connection to the reader's card; the caller
// holds c.io and c.t is nil. When the card was probed before, the card
// now in the reader must prove to be the same before the next command
// (proveIO): a restarted service or a reader plugged again may hold
// another card.
func (c *Card) connectIO() error {
	t, err := c.ctx.Connect(c.reader)
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
func (c *Card) onReset() {
	c.mu.Lock()
	c.lostCardStateLocked("the card was reset by another application")
	c.mu.Unlock()
	c.cl.Forget()
	c.mustProve = c.isProbed()
}

// fail records what a failed conversation means for the insertion and
// logs it; the caller holds c.io. An error the credential's errors do
// not explain is checked against the reader (no card traffic): a card
// taken out in the middle of a command often shows as a communication
// error or a time-out, and the caller is owed a removal then.
func (c *Card) fail(what string, err error) error {
	if !explained(err) && c.cardGoneFromReader() {
		err = fmt.Errorf("%w (the reader holds no card any more: %w)", err, cardos.ErrCardRemoved)
	}
	switch {
	case cardos.Gone(err):
		c.mu.Lock()
		c.removed = true
		c.setLoggedOutLocked()
		c.mu.Unlock()
		c.closeTransportIO()
	case errors.Is(err, cardos.ErrPINRequired):
		// The card says the PIN is not verified (another program logged
		// out or reset it): believe it.
		c.mu.Lock()
		c.lostCardStateLocked("the card says the PIN is no longer verified (another program logged out?)")
		c.mu.Unlock()
	case transportLost(err):
		// pcscd restarted, the card stopped answering or answered
		// garbage: connect afresh at the next call instead of reusing a
		// handle that may be dead.
		c.closeTransportIO()
	}
	c.log.Infof("reader %q: %s: %v", c.reader, what, err)
	return err
}

// explained reports whether err is one of the credential's own answers
// (a PIN state, a removal, a refused input) rather than a failure of the
// card or the connection.
func explained(err error) bool {
	var wrong *cardos.WrongPINError
	return cardos.Gone(err) || errors.As(err, &wrong) ||
		errors.Is(err, cardos.ErrPINLocked) || errors.Is(err, cardos.ErrPINRequired) ||
		errors.Is(err, cardos.ErrBadPINLength) || errors.Is(err, cardos.ErrBadDataLength) ||
		errors.Is(err, cardos.ErrPINChangeUnconfirmed)
}

// cardGoneFromReader reports whether the reader, as the service lists it
// now, no longer holds a card (or is gone). A service that cannot be
// asked says nothing.
func (c *Card) cardGoneFromReader() bool {
	st, err := c.ctx.Readers()
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

// closeTransportIO disconnects; the caller holds c.io.
func (c *Card) closeTransportIO() {
	if c.t != nil {
		c.t.Close()
		c.t, c.cl = nil, nil
	}
}

// cardLevel reports whether err is about the card or its connection
// (removed, reset, gone, mute) rather than about one file, so that a
// conversation must stop at it.
func cardLevel(err error) bool {
	return err != nil && (errors.Is(err, cardos.ErrCardReset) || cardos.Gone(err) || transportLost(err))
}

// checkConnIO looks, without sending anything to the card, at the
// connection of a probed card (the caller holds c.io). When it died while
// the card sat idle (the service restarted, the handle became invalid),
// it connects again at once and proves the card is the same, so that a
// card swapped meanwhile is a new token, with its own serial, at the next
// slot or token listing rather than at the application's next operation.
// A connection lost earlier (a failed conversation) is taken up the same
// way.
func (c *Card) checkConnIO() {
	if c.Removed() {
		return
	}
	if c.t != nil {
		err := c.t.Alive()
		if err == nil {
			return
		}
		c.log.Infof("reader %q: the connection to the card was lost while it was idle: %v", c.reader, err)
		c.closeTransportIO()
	}
	c.doIO("check the card after the lost connection", func(*jpki.Client) error { return nil })
}
