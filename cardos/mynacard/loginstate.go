package mynacard

import "github.com/myna-pkcs11/myna-pkcs11/cardos"

// This file holds the login state of a card's two tokens: what is
// forgotten at a logout and when the card loses its security state.

// lostCardStateLocked records that the card no longer has our PINs
// verified: the keys in scope session are logged out (the application
// is told it is not logged in and asks for the PIN again); keys in
// scope operation stay logged in, since they verify their held PIN in
// every transaction anyway. The caller holds c.mu.
func (c *Card) lostCardStateLocked(why string) {
	for _, k := range cardos.Keys {
		if c.loggedIn[ix(k)] && !c.hold[ix(k)] {
			c.log.Infof("reader %q: %s: the %s token is logged out", c.reader, why, k)
			c.logOutLocked(k)
		}
	}
}

// sessionOnCardLocked reports whether a key in scope session is logged
// in, so that the card must stay verified between transactions; the
// caller holds c.mu.
func (c *Card) sessionOnCardLocked() bool {
	for _, k := range cardos.Keys {
		if c.loggedIn[ix(k)] && !c.hold[ix(k)] {
			return true
		}
	}
	return false
}

// setLoggedOutLocked forgets the login of both keys, their held PINs
// and the signature certificate; the caller holds c.mu.
func (c *Card) setLoggedOutLocked() {
	c.logOutLocked(cardos.AuthKey)
	c.logOutLocked(cardos.SignKey)
}

// logOutLocked forgets key k's login and held PIN, and for the sign
// key the signature certificate; the caller holds c.mu.
func (c *Card) logOutLocked(k cardos.Key) {
	c.loggedIn[ix(k)] = false
	c.held[ix(k)].wipe()
	c.held[ix(k)] = nil
	if k != cardos.SignKey {
		return
	}
	clear(c.signCert)
	clear(c.signHead)
	c.signCert, c.signParsed, c.signHead = nil, nil, nil
}
