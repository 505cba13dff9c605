package mynacard

// This file holds how a PIN reaches the card: the VERIFY of a login and,
// in PIN scope operation, the held PIN verified inside each operation's
// transaction and the applet left again.

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// errLockedNoVerify is returned when the retry counter is already 0: the
// module does not send a VERIFY that cannot succeed.
func errLockedNoVerify(k cardos.Key) error {
	return lockedError(k, cardos.ErrPINLocked)
}

// lockedError says in words what a locked PIN k means to its holder,
// wrapping err (which is cardos.ErrPINLocked).
func lockedError(k cardos.Key, err error) error {
	return fmt.Errorf("the %s PIN is locked (or not set, as on a face-authentication card); only the municipal office can reset it: %w", k, err)
}

// verifyIO presents pin, unless the PIN is already known to be locked
// (then cardos.ErrPINLocked without a VERIFY: it could not succeed). It sends
// no retry query first, unless the answer to an earlier PIN command was
// lost (checkDoubtIO): the card's answer to the VERIFY carries the
// counter (9000: all tries back, 63Cx: x left, 63C0/6984: locked), which
// is cached for State. The caller holds c.io and runs it inside
// doIO, where the client selects the PIN EF in the same transaction.
func (c *Card) verifyIO(cl *jpki.Client, k cardos.Key, pin []byte) error {
	if err := c.checkDoubtIO(cl, k); err != nil {
		return err
	}
	if c.knownLocked(k) {
		return errLockedNoVerify(k)
	}
	if err := c.presentIO(cl, k, pin, "VERIFY"); err != nil {
		return err
	}
	return c.learnFullIO(cl, k)
}

// presentIO sends key k's PIN (VERIFY) and records what the answer
// says: the retry counter (noteVerify) or, when the answer was lost, that
// the card may have counted the try (pinAnswerLost, which what names).
// The caller holds c.io, inside doIO.
func (c *Card) presentIO(cl *jpki.Client, k cardos.Key, pin []byte, what string) error {
	err := cl.Verify(k, pin)
	if fateUnknown(err) {
		c.pinAnswerLost(k, what, err)
		return err
	}
	c.noteVerify(k, err)
	if errors.Is(err, cardos.ErrPINLocked) {
		return lockedError(k, err)
	}
	return err
}

// learnFullIO reads, once per insertion, key k's retry counter right
// after a successful VERIFY: the counter this card reports with every try
// left. J-LIS documents 3 and 5 tries, and a published trace shows 63C3
// for the auth PIN right after a correct one (OpenSC pull request #959,
// https://github.com/OpenSC/OpenSC/pull/959), but none shows the
// signature password's. A held PIN is sent only while the counter reads
// full, so the full value must be the card's own: a card reporting more
// than 5 would otherwise get the held PIN after another program's wrong
// try, and one reporting less would never get it. The caller holds c.io,
// inside doIO, with the PIN EF selected (one empty VERIFY).
func (c *Card) learnFullIO(cl *jpki.Client, k cardos.Key) error {
	c.mu.Lock()
	known := c.full[ix(k)] > 0
	c.mu.Unlock()
	if known {
		return nil
	}
	n, err := cl.TriesLeft(k)
	if cardLevel(err) {
		return err
	}
	if err != nil || n <= 0 {
		c.log.Infof("reader %q: the %s PIN's full retry counter could not be read after a successful VERIFY (%v, %d): %d is assumed", c.reader, k, err, n, k.MaxTries())
		return nil
	}
	c.mu.Lock()
	c.full[ix(k)] = n
	c.mu.Unlock()
	c.setTries(k, n)
	if n != k.MaxTries() {
		c.log.Infof("reader %q: this card reports %d tries for a full %s PIN counter (documented: %d); the module goes by the card's count", c.reader, n, k, k.MaxTries())
	}
	return nil
}

// fullTries returns the retry counter key k's PIN has with every try
// left: as learnt from this card (learnFullIO), or as documented.
func (c *Card) fullTries(k cardos.Key) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fullTriesLocked(k)
}

// fullTriesLocked is fullTries; the caller holds c.mu.
func (c *Card) fullTriesLocked(k cardos.Key) int {
	if c.full[ix(k)] > 0 {
		return c.full[ix(k)]
	}
	return k.MaxTries()
}

// fateUnknown reports whether err leaves it open whether the card ran
// the command: its answer was lost, garbled or cut off, or the card left
// the reader or the field. A reset reported before the command means it
// was not sent.
func fateUnknown(err error) bool {
	return cardLevel(err) && !errors.Is(err, cardos.ErrCardReset)
}

// pinAnswerLost handles a command carrying key k's PIN (VERIFY, CHANGE
// REFERENCE DATA) whose answer was lost: the card may have counted a
// try, verified the PIN or stored the new one, and nobody can know which.
// Nothing is sent again on the module's own initiative: the token is
// logged out and its held PIN wiped, the tries are read before the next
// VERIFY (checkDoubtIO) and shown by the next State, and the
// transaction ends with a card reset, so that a PIN the card may have
// verified does not stay verified. The caller holds c.io, inside doIO.
func (c *Card) pinAnswerLost(k cardos.Key, what string, err error) {
	c.endReset = true
	c.mu.Lock()
	c.triesInDoubt[ix(k)] = true
	c.tries[ix(k)].known = false
	c.logOutLocked(k)
	c.mu.Unlock()
	c.log.Infof("reader %q: the answer to the %s of the %s PIN was lost (%v): the card may have counted this try; the PIN is not sent again on the module's own, the tries are read before the next VERIFY, and the card is reset so that it is not left verified", c.reader, what, k, err)
}

// checkDoubtIO reads key k's retry counter before a VERIFY when the
// answer to an earlier PIN command was lost, so that what the card
// counted is known (logged, and shown by State) before the user's
// PIN is sent, and a PIN the lost try locked gets no VERIFY.
func (c *Card) checkDoubtIO(cl *jpki.Client, k cardos.Key) error {
	c.mu.Lock()
	doubt := c.triesInDoubt[ix(k)]
	c.mu.Unlock()
	if !doubt {
		return nil
	}
	n, err := cl.TriesLeft(k)
	if err != nil {
		return err
	}
	c.setTries(k, n)
	c.mu.Lock()
	c.triesInDoubt[ix(k)] = false
	c.mu.Unlock()
	c.log.Infof("reader %q: after the lost answer the card counts %d of %d tries left for the %s PIN", c.reader, n, c.fullTries(k), k)
	return nil
}

// noteVerify records the retry counter a VERIFY answer carries.
func (c *Card) noteVerify(k cardos.Key, err error) {
	var wrong *cardos.WrongPINError
	switch {
	case err == nil:
		c.verifiedInTx[ix(k)] = true
		c.setTries(k, c.fullTries(k))
	case errors.As(err, &wrong):
		c.setTries(k, wrong.TriesLeft)
	case errors.Is(err, cardos.ErrPINLocked):
		c.setTries(k, 0)
	}
}

// pinIO runs fn, which needs key k's PIN verified on the card, inside
// the caller's transaction (the caller holds c.io, inside doIO). In
// scope session the card is still verified from the login, or fn meets
// 6982 and the token is logged out. In scope operation pinIO verifies the
// held PIN first and leaves the applet after fn, so the card is verified
// only while this transaction lasts and no other program can use the key
// without the PIN.
//
// A held PIN is sent only while the card reports every try left: a
// wrong PIN tried since the login (by another program, or by another
// process of this module still holding an old PIN after a change) must
// not be followed by another. After any answer but success the held PIN
// is wiped and the token logged out: a held PIN spends at most one try
// per login of this process, never right after another wrong try, and
// only when the PIN was changed elsewhere since the login. (Several
// processes holding the old PIN can each spend one when a login with the
// new PIN refills the counter in between.)
func (c *Card) pinIO(cl *jpki.Client, k cardos.Key, fn func() error) error {
	if !c.hold[ix(k)] {
		return fn()
	}
	c.mu.Lock()
	h := c.held[ix(k)]
	c.mu.Unlock()
	if h == nil {
		return fmt.Errorf("the %s token is not logged in: %w", k, cardos.ErrPINRequired)
	}
	n, err := cl.TriesLeft(k)
	if err != nil {
		return err
	}
	c.setTries(k, n)
	if n < c.fullTries(k) {
		return c.dropHeld(k, fmt.Sprintf("the %s PIN has %d of %d tries left, so a wrong PIN was tried since the login (by another program?); the remembered PIN is not sent: log in again", k, n, c.fullTries(k)))
	}
	err = c.presentIO(cl, k, h.bytes(), "VERIFY")
	if fateUnknown(err) {
		return err
	}
	if err != nil {
		if errors.Is(err, cardos.ErrCardReset) {
			return err // not sent: the transaction runs again
		}
		var wrong *cardos.WrongPINError
		if errors.As(err, &wrong) || errors.Is(err, cardos.ErrPINLocked) {
			return c.dropHeld(k, fmt.Sprintf("the card refused the remembered %s PIN (changed by another program since the login?): %v; log in again", k, err))
		}
		c.dropHeld(k, fmt.Sprintf("verifying the remembered %s PIN failed: %v; it is not sent again: log in again", k, err))
		return err
	}
	err = fn()
	if fateUnknown(err) {
		// The card is verified and the leave cannot be trusted to reach
		// it: the transaction ends with a reset.
		c.log.Infof("reader %q: the %s operation got no answer (%v): the card is reset so that it is not left verified", c.reader, k, err)
		c.endReset = true
		return err
	}
	if lerr := c.leaveIO(cl); lerr != nil {
		c.log.Infof("reader %q: could not leave the applet after the %s operation, the card may stay verified until it is reset or removed: %v", c.reader, k, lerr)
		if err == nil && !errors.Is(lerr, jpki.ErrResetRequired) {
			err = lerr
		}
	}
	return err
}

// dropHeld wipes key k's held PIN, logs it out with the reason and
// returns cardos.ErrPINRequired, so that the application asks for the
// PIN again.
func (c *Card) dropHeld(k cardos.Key, why string) error {
	c.log.Infof("reader %q: %s", c.reader, why)
	c.mu.Lock()
	c.logOutLocked(k)
	c.mu.Unlock()
	return fmt.Errorf("%s: %w", why, cardos.ErrPINRequired)
}
