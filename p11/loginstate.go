package p11

// This file holds the login state of a card's two tokens: what is
// forgotten at a logout and when the card loses its security state.

// lostCardStateLocked records that the card no longer has our PINs
// verified: the tokens in ScopeSession are logged out (the application
// is told CKR_USER_NOT_LOGGED_IN and asks for the PIN again); tokens in
// ScopeOperation stay logged in, since they verify their held PIN in
// every transaction anyway. The caller holds c.mu.
func (c *card) lostCardStateLocked(why string) {
	for _, k := range []tokenKind{authToken, signToken} {
		if c.loggedIn[k] && c.scope[k] == ScopeSession {
			c.log.infof("reader %q: %s: the %s token is logged out", c.reader, why, k)
			c.logOutLocked(k)
		}
	}
}

// sessionOnCardLocked reports whether a token in ScopeSession is logged
// in, so that the card must stay verified between transactions; the
// caller holds c.mu.
func (c *card) sessionOnCardLocked() bool {
	for _, k := range []tokenKind{authToken, signToken} {
		if c.loggedIn[k] && c.scope[k] == ScopeSession {
			return true
		}
	}
	return false
}

// setLoggedOutLocked forgets the login of both tokens, their held PINs
// and the signature certificate; the caller holds c.mu.
func (c *card) setLoggedOutLocked() {
	c.logOutLocked(authToken)
	c.logOutLocked(signToken)
}

// logOutLocked forgets token k's login and held PIN, and for the sign
// token the signature certificate; the caller holds c.mu.
func (c *card) logOutLocked(k tokenKind) {
	c.loggedIn[k] = false
	c.held[k].wipe()
	c.held[k] = nil
	if k != signToken {
		return
	}
	clear(c.signCert)
	clear(c.signHead)
	c.signCert, c.signParsed, c.signHead = nil, nil, nil
	for _, k := range []objKind{objSignCert, objSignPub, objSignPriv} {
		delete(c.attrs, k)
	}
}
