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
// doIO.
func (c *card) verifyIO(cl *jpki.Client, k tokenKind, pin []byte) error {
	if c.knownLocked(k) {
		return errLockedNoVerify(k)
	}
	err := cl.Verify(k.key(), pin)
	var wrong *jpki.WrongPINError
	switch {
	case err == nil:
		c.setTries(k, k.key().MaxTries())
	case errors.As(err, &wrong):
		c.setTries(k, wrong.TriesLeft)
	case errors.Is(err, jpki.ErrPINLocked):
		c.setTries(k, 0)
	}
	return err
}

// login verifies the token's PIN on the card (pin already checked and
// normalised by checkPIN) and marks the token logged in. For the sign
// token it then reads the start of the signature certificate (one READ
// BINARY): it says whether the card has one, and the rest is only read
// when an attribute needs it. Both are kept only while logged in. With
// contextSpecific the PIN is verified again without changing the login
// state.
func (c *card) login(ctx cardos.Context, k tokenKind, pin []byte, contextSpecific bool) error {
	c.io.Lock()
	defer c.io.Unlock()
	var signHead []byte
	absent := false
	err := c.doIO(ctx, "login "+k.String(), func(cl *jpki.Client) error {
		if err := c.verifyIO(cl, k, pin); err != nil {
			return err
		}
		if k != signToken || contextSpecific {
			return nil
		}
		head, err := cl.ReadCertificateHeader(jpki.SignCert, certHeadLen)
		if errors.Is(err, jpki.ErrNotFound) {
			absent = true
			return nil
		}
		if err != nil {
			return err
		}
		signHead = head
		return nil
	})
	clear(pin)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
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

// logoutOnCard makes the card forget its verified PINs when either token
// is logged in, and marks both tokens logged out: the card has no way to
// drop one PIN and keep the other, so a logout always ends both logins.
func (c *card) logoutOnCard(ctx cardos.Context, why string) error {
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	was := c.loggedIn
	c.setLoggedOutLocked()
	c.mu.Unlock()
	if !was[authToken] && !was[signToken] {
		return nil
	}
	if was[authToken] && was[signToken] {
		c.log.infof("reader %q: %s: both tokens are logged out (the card keeps no separate PIN states)", c.reader, why)
	}
	return c.dropPINsIO(ctx, why)
}

// dropPINsIO leaves the JPKI applet, or resets the card when that is not
// possible, so that no PIN stays verified; the caller holds c.io.
func (c *card) dropPINsIO(ctx cardos.Context, why string) error {
	needReset := false
	err := c.doIO(ctx, why+": logout", func(cl *jpki.Client) error {
		err := cl.Logout()
		if errors.Is(err, jpki.ErrResetRequired) {
			needReset = true
			return nil
		}
		return err
	})
	if err != nil || !needReset {
		return err
	}
	if err := c.t.Begin(); err != nil && !errors.Is(err, cardos.ErrCardReset) {
		return c.fail(why+": reset", err)
	}
	err = c.t.End(true)
	c.cl.Forget()
	if err != nil {
		return c.fail(why+": reset", err)
	}
	return nil
}

// changePIN verifies oldPIN and sets newPIN (both checked by checkPIN).
// When the token was not logged in, the card is logged out again
// afterwards unless the other token is logged in.
func (c *card) changePIN(ctx cardos.Context, k tokenKind, oldPIN, newPIN []byte) error {
	c.io.Lock()
	defer c.io.Unlock()
	defer clear(oldPIN)
	defer clear(newPIN)
	err := c.doIO(ctx, "change "+k.String()+" PIN", func(cl *jpki.Client) error {
		if err := c.verifyIO(cl, k, oldPIN); err != nil {
			return err
		}
		return cl.ChangePIN(k.key(), newPIN)
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	anyLoggedIn := c.loggedIn[authToken] || c.loggedIn[signToken]
	c.mu.Unlock()
	if !anyLoggedIn {
		if err := c.dropPINsIO(ctx, "after PIN change"); err != nil {
			c.log.infof("reader %q: could not log out after the PIN change: %v", c.reader, err)
		}
	}
	return nil
}

// sign has the card sign input (a DigestInfo or raw PKCS#1 input) with
// the token's key.
func (c *card) sign(ctx cardos.Context, k tokenKind, input []byte) ([]byte, error) {
	var sig []byte
	err := c.do(ctx, "sign with the "+k.String()+" key", func(cl *jpki.Client) error {
		var err error
		sig, err = cl.Sign(k.key(), input)
		return err
	})
	return sig, err
}
