package p11

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// errLockedNoVerify is returned when the retry counter is already 0: the
// module does not send a VERIFY that cannot succeed.
func errLockedNoVerify(k tokenKind) error {
	return fmt.Errorf("the %s PIN is locked (or not set, as on a face-authentication card); only the municipal office can reset it: %w", k, ck.Error(ck.CKR_PIN_LOCKED))
}

// verifyIO presents pin, unless the PIN is already known to be locked
// (then CKR_PIN_LOCKED without a VERIFY: it could not succeed). It sends
// no retry query first: the card's answer to the VERIFY carries the
// counter (9000: all tries back, 63Cx: x left, 63C0/6984: locked), which
// is cached for C_GetTokenInfo. The caller holds c.io and runs it inside
// doIO, where the client selects the PIN EF in the same transaction.
func (c *card) verifyIO(cl *jpki.Client, k tokenKind, pin []byte) error {
	if c.knownLocked(k) {
		return errLockedNoVerify(k)
	}
	err := cl.Verify(k.key(), pin)
	c.noteVerify(k, err)
	return err
}

// noteVerify records the retry counter a VERIFY answer carries.
func (c *card) noteVerify(k tokenKind, err error) {
	var wrong *jpki.WrongPINError
	switch {
	case err == nil:
		c.setTries(k, k.key().MaxTries())
	case errors.As(err, &wrong):
		c.setTries(k, wrong.TriesLeft)
	case errors.Is(err, jpki.ErrPINLocked):
		c.setTries(k, 0)
	}
}

// pinIO runs fn, which needs token k's PIN verified on the card, inside
// the caller's transaction (the caller holds c.io, inside doIO). In
// ScopeSession the card is still verified from the login, or fn meets
// 6982 and the token is logged out. In ScopeOperation pinIO verifies the
// held PIN first and leaves the applet after fn, so the card is verified
// only while this transaction lasts and no other program can use the key
// without the PIN.
//
// A held PIN is sent only while the card reports every try left: a
// wrong PIN tried since the login (by another program, or by another
// process of this module still holding an old PIN after a change) must
// not be followed by another. After any answer but success the held PIN
// is wiped and the token logged out: at most one try is ever spent by a
// held PIN, and only when the PIN was changed elsewhere since the login.
func (c *card) pinIO(cl *jpki.Client, k tokenKind, fn func() error) error {
	if c.scope[k] == ScopeSession {
		return fn()
	}
	c.mu.Lock()
	h := c.held[k]
	c.mu.Unlock()
	if h == nil {
		return fmt.Errorf("the %s token is not logged in: %w", k, ck.Error(ck.CKR_USER_NOT_LOGGED_IN))
	}
	n, err := cl.TriesLeft(k.key())
	if err != nil {
		return err
	}
	c.setTries(k, n)
	if n < k.key().MaxTries() {
		return c.dropHeld(k, fmt.Sprintf("the %s PIN has %d of %d tries left, so a wrong PIN was tried since the login (by another program?); the remembered PIN is not sent: log in again", k, n, k.key().MaxTries()))
	}
	err = cl.Verify(k.key(), h.bytes())
	c.noteVerify(k, err)
	if err != nil {
		if errors.Is(err, cardos.ErrCardReset) {
			return err // not sent: the transaction runs again
		}
		var wrong *jpki.WrongPINError
		if errors.As(err, &wrong) || errors.Is(err, jpki.ErrPINLocked) {
			return c.dropHeld(k, fmt.Sprintf("the card refused the remembered %s PIN (changed by another program since the login?): %v; log in again", k, err))
		}
		c.dropHeld(k, fmt.Sprintf("verifying the remembered %s PIN failed: %v; it is not sent again: log in again", k, err))
		return err
	}
	err = fn()
	if lerr := c.leaveIO(cl); lerr != nil {
		c.log.infof("reader %q: could not leave the applet after the %s operation, the card may stay verified until it is reset or removed: %v", c.reader, k, lerr)
		if err == nil && !errors.Is(lerr, jpki.ErrResetRequired) {
			err = lerr
		}
	}
	return err
}

// dropHeld wipes token k's held PIN, logs it out with the reason and
// returns CKR_USER_NOT_LOGGED_IN, so that the application asks for the
// PIN again.
func (c *card) dropHeld(k tokenKind, why string) error {
	c.log.infof("reader %q: %s", c.reader, why)
	c.mu.Lock()
	c.logOutLocked(k)
	c.mu.Unlock()
	return fmt.Errorf("%s: %w", why, ck.Error(ck.CKR_USER_NOT_LOGGED_IN))
}

// leaveIO makes the card forget its verified PINs at the end of the
// caller's transaction: it selects another applet, or, where none can be
// selected, has the transaction end with a card reset. It leaves the card
// verified while a ScopeSession token is logged in, whose login would go
// with it. The caller holds c.io, inside doIO.
func (c *card) leaveIO(cl *jpki.Client) error {
	c.mu.Lock()
	keep := c.sessionOnCardLocked()
	c.mu.Unlock()
	if keep {
		return nil
	}
	err := cl.Logout()
	if errors.Is(err, jpki.ErrResetRequired) {
		c.endReset = true
		return nil
	}
	return err
}

// login verifies the token's PIN on the card (pin already checked and
// normalised by checkPIN) and marks the token logged in. For the sign
// token it then reads the start of the signature certificate (one READ
// BINARY): it says whether the card has one, and the rest is only read
// when an attribute needs it. Both are kept only while logged in. With
// contextSpecific the PIN is verified again without changing the login
// state. In ScopeOperation the PIN is held for later operations and the
// card left unverified when the transaction ends.
func (c *card) login(ctx cardos.Context, k tokenKind, pin []byte, contextSpecific bool) error {
	c.io.Lock()
	defer c.io.Unlock()
	defer clear(pin)
	var signHead []byte
	absent := false
	err := c.doIO(ctx, "login "+k.String(), func(cl *jpki.Client) error {
		if err := c.verifyIO(cl, k, pin); err != nil {
			return err
		}
		err := c.readSignHeadIO(cl, k, contextSpecific, &signHead, &absent)
		if c.scope[k] == ScopeOperation {
			if lerr := c.leaveIO(cl); lerr != nil && err == nil {
				err = lerr
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scope[k] == ScopeOperation && (!contextSpecific || c.loggedIn[k]) {
		c.held[k].wipe()
		c.held[k] = holdPIN(pin)
		if !c.held[k].locked {
			c.log.debugf("reader %q: the %s PIN is held in memory that could not be locked against swapping (RLIMIT_MEMLOCK?)", c.reader, k)
		}
	}
	if contextSpecific {
		return nil
	}
	c.loggedIn[k] = true
	if k == signToken {
		if absent {
			c.signCertState = certAbsent
			c.log.infof("reader %q: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token has no key", c.reader)
		} else {
			c.signCertState = certPresent
			c.signHead = signHead
		}
	}
	return nil
}

// readSignHeadIO reads, after the signature password was verified in
// this transaction, the start of the signature certificate into head, or
// sets absent when the card has none. Other logins read nothing.
func (c *card) readSignHeadIO(cl *jpki.Client, k tokenKind, contextSpecific bool, head *[]byte, absent *bool) error {
	if k != signToken || contextSpecific {
		return nil
	}
	h, err := cl.ReadCertificateHeader(jpki.SignCert, certHeadLen)
	if errors.Is(err, jpki.ErrNotFound) {
		*absent = true
		return nil
	}
	*head = h
	return err
}

// logoutOnCard logs both tokens out and, when a ScopeSession token was
// logged in, makes the card forget its verified PINs: the card has no way
// to drop one PIN and keep the other, so a logout always ends both
// logins. Tokens in ScopeOperation left the card unverified after each
// transaction, so their logout sends nothing.
func (c *card) logoutOnCard(ctx cardos.Context, why string) error {
	c.io.Lock()
	defer c.io.Unlock()
	return c.logoutIO(ctx, why)
}

// logoutIfUnused logs token k out as logoutOnCard does, but only when
// unused (asked while c.io is held, which every login also holds) still
// reports that no session of the token is open: a login in another
// thread that opened its session meanwhile is not undone.
func (c *card) logoutIfUnused(ctx cardos.Context, k tokenKind, unused func() bool, why string) error {
	c.io.Lock()
	defer c.io.Unlock()
	if !c.isLoggedIn(k) || !unused() {
		return nil
	}
	return c.logoutIO(ctx, why)
}

// logoutIO is logoutOnCard with c.io held.
func (c *card) logoutIO(ctx cardos.Context, why string) error {
	c.mu.Lock()
	was := c.loggedIn
	onCard := c.sessionOnCardLocked()
	c.setLoggedOutLocked()
	c.mu.Unlock()
	if was[authToken] && was[signToken] {
		c.log.infof("reader %q: %s: both tokens are logged out (the card keeps no separate PIN states)", c.reader, why)
	}
	if !onCard {
		return nil
	}
	return c.dropPINsIO(ctx, why)
}

// dropPINsIO leaves the JPKI applet, or resets the card when that is not
// possible, so that no PIN stays verified; the caller holds c.io.
func (c *card) dropPINsIO(ctx cardos.Context, why string) error {
	return c.doIO(ctx, why+": logout", c.leaveIO)
}

// changePIN verifies oldPIN and sets newPIN (both checked by checkPIN) in
// one transaction. Unless a ScopeSession token is logged in, the card is
// left unverified again in the same transaction; a held PIN becomes the
// new one.
func (c *card) changePIN(ctx cardos.Context, k tokenKind, oldPIN, newPIN []byte) error {
	c.io.Lock()
	defer c.io.Unlock()
	defer clear(oldPIN)
	defer clear(newPIN)
	err := c.doIO(ctx, "change "+k.String()+" PIN", func(cl *jpki.Client) error {
		if err := c.verifyIO(cl, k, oldPIN); err != nil {
			return err
		}
		err := cl.ChangePIN(k.key(), newPIN)
		if lerr := c.leaveIO(cl); lerr != nil {
			c.log.infof("reader %q: could not log out after the PIN change: %v", c.reader, lerr)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[k] != nil {
		c.held[k].wipe()
		c.held[k] = holdPIN(newPIN)
	}
	return nil
}

// sign has the card sign input (a DigestInfo or raw PKCS#1 input) with
// the token's key, selecting the key EF in the same transaction (and, in
// ScopeOperation, verifying the held PIN in it first).
func (c *card) sign(ctx cardos.Context, k tokenKind, input []byte) ([]byte, error) {
	var sig []byte
	err := c.do(ctx, "sign with the "+k.String()+" key", func(cl *jpki.Client) error {
		return c.pinIO(cl, k, func() error {
			var err error
			sig, err = cl.Sign(k.key(), input)
			return err
		})
	})
	return sig, err
}
