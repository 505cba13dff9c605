package mynacard

// This file holds the card side of login, logout and PIN change.

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// Login verifies the token's PIN on the card (pin already checked and
// normalised by checkPIN) and marks the token logged in. For the sign
// token it then reads the start of the signature certificate (one READ
// BINARY): it says whether the card has one, and the rest is only read
// when an attribute needs it. Both are kept only while logged in. With
// contextSpecific the PIN is verified again without changing the login
// state. In scope operation the PIN is held for later operations and the
// card left unverified when the transaction ends.
func (c *Card) Login(k cardos.Key, pin []byte, contextSpecific bool) error {
	c.io.Lock()
	defer c.io.Unlock()
	defer clear(pin)
	var signHead []byte
	absent := false
	err := c.doIO("login "+k.String(), func(cl *jpki.Client) error {
		if err := c.verifyIO(cl, k, pin); err != nil {
			return err
		}
		err := c.readSignHeadIO(cl, k, contextSpecific, &signHead, &absent)
		if err == nil && !contextSpecific {
			err = c.readAuthHeadIO(cl, k)
		}
		if c.hold[ix(k)] {
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
	if c.hold[ix(k)] && (!contextSpecific || c.loggedIn[ix(k)]) {
		c.held[ix(k)].wipe()
		c.held[ix(k)] = holdPIN(pin)
		if !c.held[ix(k)].locked {
			c.log.Debugf("reader %q: the %s PIN is held in memory that could not be locked against swapping (RLIMIT_MEMLOCK?)", c.reader, k)
		}
	}
	if contextSpecific {
		return nil
	}
	c.loggedIn[ix(k)] = true
	if k == cardos.SignKey {
		if absent {
			c.signCertState = cardos.CertAbsent
			c.log.Infof("reader %q: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token has no key", c.reader)
		} else {
			c.signCertState = cardos.CertPresent
			c.signHead = signHead
		}
	}
	return nil
}

// readAuthHeadIO reads, after the auth PIN was verified in this
// transaction, the start of an authentication certificate that was
// behind the PIN at the probe (smartphone JPKI), once per insertion.
func (c *Card) readAuthHeadIO(cl *jpki.Client, k cardos.Key) error {
	c.mu.Lock()
	need := k == cardos.AuthKey && c.authBehindPIN && c.authHead == nil
	c.mu.Unlock()
	if !need {
		return nil
	}
	h, err := cl.ReadCertificateHeader(cardos.AuthCert, HeadLen)
	if errors.Is(err, cardos.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.setAuthHeadLocked(h)
	c.mu.Unlock()
	return nil
}

// readSignHeadIO reads, after the signature password was verified in
// this transaction, the start of the signature certificate into head, or
// sets absent when the card has none. Other logins read nothing.
func (c *Card) readSignHeadIO(cl *jpki.Client, k cardos.Key, contextSpecific bool, head *[]byte, absent *bool) error {
	if k != cardos.SignKey || contextSpecific {
		return nil
	}
	h, err := cl.ReadCertificateHeader(cardos.SignCert, HeadLen)
	if errors.Is(err, cardos.ErrNotFound) {
		*absent = true
		return nil
	}
	*head = h
	return err
}

// Logout logs both tokens out and, when a scope session token was
// logged in, makes the card forget its verified PINs: the card has no way
// to drop one PIN and keep the other, so a logout always ends both
// logins. Tokens in scope operation left the card unverified after each
// transaction, so their logout sends nothing.
func (c *Card) Logout(why string) error {
	c.io.Lock()
	defer c.io.Unlock()
	return c.logoutIO(why)
}

// LogoutIfUnused logs token k out as logoutOnCard does, but only when
// unused (asked while c.io is held, which every login also holds) still
// reports that no session of the token is open: a login in another
// thread that opened its session meanwhile is not undone.
func (c *Card) LogoutIfUnused(k cardos.Key, unused func() bool, why string) error {
	c.io.Lock()
	defer c.io.Unlock()
	if !c.LoggedIn(k) || !unused() {
		return nil
	}
	return c.logoutIO(why)
}

// LogoutAtExit logs the card out at process exit when a scope session
// token is logged in and no conversation holds the card.
func (c *Card) LogoutAtExit() {
	c.mu.Lock()
	onCard := c.sessionOnCardLocked()
	c.mu.Unlock()
	if !onCard || !c.io.TryLock() {
		return
	}
	defer c.io.Unlock()
	c.logoutIO("the program exits without C_Finalize")
}

// logoutIO is Logout with c.io held.
func (c *Card) logoutIO(why string) error {
	c.mu.Lock()
	was := c.loggedIn
	var onCard [2]bool // verified on the card since an earlier transaction
	for _, k := range cardos.Keys {
		onCard[ix(k)] = was[ix(k)] && !c.hold[ix(k)]
	}
	c.setLoggedOutLocked()
	c.mu.Unlock()
	if was[0] && was[1] {
		c.log.Infof("reader %q: %s: both tokens are logged out (the card keeps no separate PIN states)", c.reader, why)
	}
	if onCard == [2]bool{} {
		return nil
	}
	return c.dropPINsIO(why, onCard)
}

// dropPINsIO leaves the JPKI applet, or resets the card when that is not
// possible, so that none of the PINs an earlier transaction left verified
// (onCard) stays verified; the leave is checked as proveLeaveIO does.
// The caller holds c.io.
func (c *Card) dropPINsIO(why string, onCard [2]bool) error {
	return c.doIO(why+": logout", func(cl *jpki.Client) error {
		c.verifiedBefore = onCard
		return c.leaveIO(cl)
	})
}

// ChangePIN verifies oldPIN, sets newPIN (both checked by checkPIN) and
// confirms it (confirmChangeIO) in one transaction. Unless a scope session
// token is logged in, the card is left unverified again in the same
// transaction; a held PIN becomes the new one.
func (c *Card) ChangePIN(k cardos.Key, oldPIN, newPIN []byte) error {
	c.io.Lock()
	defer c.io.Unlock()
	defer clear(oldPIN)
	defer clear(newPIN)
	err := c.doIO("change "+k.String()+" PIN", func(cl *jpki.Client) error {
		if err := c.verifyIO(cl, k, oldPIN); err != nil {
			return err
		}
		err := cl.ChangePIN(k, newPIN)
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
			c.log.Infof("reader %q: could not log out after the PIN change: %v", c.reader, lerr)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[ix(k)] != nil {
		c.held[ix(k)].wipe()
		c.held[ix(k)] = holdPIN(newPIN)
	}
	return nil
}

// confirmChangeIO verifies newPIN right after the card answered 9000 to
// CHANGE REFERENCE DATA, in the same transaction. No published trace
// shows this card's PIN change (jpki/myna, https://github.com/jpki/myna,
// calls its own "untested"), so a card that answered 9000 but stored
// something else must be found out before the person relies on the new
// PIN. On a card that stored it the VERIFY succeeds and costs no try; on
// one that did not, it costs one, the token is logged out and the person
// is told (cardos.ErrPINChangeUnconfirmed). The old PIN is not tried on the
// module's own: it would spend another try. The caller holds c.io,
// inside doIO.
func (c *Card) confirmChangeIO(cl *jpki.Client, k cardos.Key, newPIN []byte) error {
	err := c.presentIO(cl, k, newPIN, "VERIFY of the new PIN")
	if fateUnknown(err) {
		return err
	}
	var wrong *cardos.WrongPINError
	if errors.As(err, &wrong) || errors.Is(err, cardos.ErrPINLocked) {
		c.mu.Lock()
		c.logOutLocked(k)
		c.mu.Unlock()
		c.log.Infof("reader %q: the card answered 9000 to the %s PIN change but refuses the new PIN (%v): it did not store what was sent; neither PIN is known to be valid: check the tries with myna-pkcs11 status before trying either", c.reader, k, err)
		return fmt.Errorf("%w (%w)", cardos.ErrPINChangeUnconfirmed, err)
	}
	return err
}
