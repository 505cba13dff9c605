package p11

// This file holds the card side of login, logout and PIN change.

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

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
	h, err := cl.ReadCertificateHeader(cardos.SignCert, certHeadLen)
	if errors.Is(err, cardos.ErrNotFound) {
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

// logoutAtExit logs the card out at process exit when a ScopeSession
// token is logged in and no conversation holds the card.
func (c *card) logoutAtExit(ctx cardos.Context) {
	c.mu.Lock()
	onCard := c.sessionOnCardLocked()
	c.mu.Unlock()
	if !onCard || !c.io.TryLock() {
		return
	}
	defer c.io.Unlock()
	c.logoutIO(ctx, "the program exits without C_Finalize")
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

// changePIN verifies oldPIN, sets newPIN (both checked by checkPIN) and
// confirms it (confirmChangeIO) in one transaction. Unless a ScopeSession
// token is logged in, the card is left unverified again in the same
// transaction; a held PIN becomes the new one.
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
		if fateUnknown(err) {
			c.pinAnswerLost(k, "CHANGE REFERENCE DATA", err)
			return err
		}
		if err == nil {
			err = c.confirmChangeIO(cl, k, newPIN)
			if fateUnknown(err) {
				return err
			}
		}
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

// ErrPINChangeUnconfirmed is returned (wrapped, with CKR_FUNCTION_FAILED)
// when the card answered 9000 to the PIN change but then refused the new
// PIN: it stored something other than what was sent, and neither the old
// nor the new PIN is known to be valid.
var ErrPINChangeUnconfirmed = errors.New("the card accepted the PIN change but refuses the new PIN: it did not store what was sent")

// confirmChangeIO verifies newPIN right after the card answered 9000 to
// CHANGE REFERENCE DATA, in the same transaction. No published trace
// shows this card's PIN change (jpki/myna, https://github.com/jpki/myna,
// calls its own "untested"), so a card that answered 9000 but stored
// something else must be found out before the person relies on the new
// PIN. On a card that stored it the VERIFY succeeds and costs no try; on
// one that did not, it costs one, the token is logged out and the person
// is told (ErrPINChangeUnconfirmed). The old PIN is not tried on the
// module's own: it would spend another try. The caller holds c.io,
// inside doIO.
func (c *card) confirmChangeIO(cl *jpki.Client, k tokenKind, newPIN []byte) error {
	err := c.presentIO(cl, k, newPIN, "VERIFY of the new PIN")
	if fateUnknown(err) {
		return err
	}
	var wrong *cardos.WrongPINError
	if errors.As(err, &wrong) || errors.Is(err, cardos.ErrPINLocked) {
		c.mu.Lock()
		c.logOutLocked(k)
		c.mu.Unlock()
		c.log.infof("reader %q: the card answered 9000 to the %s PIN change but refuses the new PIN (%v): it did not store what was sent; neither PIN is known to be valid: check the tries with myna-pkcs11 status before trying either", c.reader, k, err)
		return fmt.Errorf("%w (%w)", ErrPINChangeUnconfirmed, err)
	}
	return err
}
