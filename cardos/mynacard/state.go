package mynacard

// This file holds what C_GetTokenInfo shows of a token: the serial, the
// signature certificate's presence and the PIN retry counter.

import (
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// triesInfo is a cached retry counter: n tries left, learnt at time at;
// stale asks the next C_GetTokenInfo to read it again.
type triesInfo struct {
	n     int
	at    time.Time
	known bool
	stale bool
}

// The retry counter C_GetTokenInfo shows is read from the card once per
// insertion, and then again only when it matters: when an application
// starts to use the token (its first session opens) and the counter is
// older than triesMaxAge. Every answer to a VERIFY, including the tries
// check before each held-PIN signature, updates it for free. The clock
// alone never causes card traffic, so a program that polls
// C_GetTokenInfo while idle (browsers do) costs 0 APDUs; the price is
// that a try spent by another program while this one keeps its sessions
// open shows at this program's next login, signature or new session,
// not before. A counter of 0 is kept for the insertion: only the
// municipal office unlocks a PIN, and that takes the card out of the
// reader.
const triesMaxAge = 5 * time.Second

// InUse records that key k's first session opened: the next
// C_GetTokenInfo reads the retry counter again if it is older than
// triesMaxAge.
func (c *Card) InUse(k cardos.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.tries[ix(k)]
	if t.known && t.n != 0 && c.now().Sub(t.at) >= triesMaxAge {
		t.stale = true
	}
}

// State returns what a token shows of key k: the card's
// serial (see setAuthHeadLocked; "" when the authentication certificate
// was unreadable at the probe), whether the card has a signature
// certificate (sign token), and the PIN's retry counter. What is not
// known yet is read in one transaction, so that nothing depends on what
// another program selected in between and the applet is selected once:
//   - for the sign token, once before any login, the first bytes of EF
//     0001: missing or empty means a card without a signature
//     certificate (holder under 15, face-authentication card), refused
//     means it is there behind the password;
//   - the retry counter (the empty VERIFY, which never spends a try),
//     when unknown or stale (see triesMaxAge).
func (c *Card) State(k cardos.Key) (cardos.State, error) {
	var err error
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	needProbe := k == cardos.SignKey && !c.signProbed && c.signCertState == cardos.CertUnknown
	t := c.tries[ix(k)]
	needTries := !t.known || t.stale
	c.mu.Unlock()
	absent := false
	if needProbe || needTries {
		err = c.doIO("read the "+k.String()+" token's state", func(cl *jpki.Client) error {
			absent = false
			if needProbe {
				p, perr := cl.LookForSignCert()
				if cardLevel(perr) {
					return perr
				}
				absent = perr == nil && p == jpki.SignCertAbsent
			}
			if needTries {
				n, terr := cl.TriesLeft(k)
				if terr == nil {
					c.setTries(k, n)
				}
				return terr
			}
			return nil
		})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if needProbe && err == nil {
		c.signProbed = true
		if absent {
			c.signCertState = cardos.CertAbsent
			c.log.Infof("reader %q: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token cannot be used", c.reader)
		}
	}
	return cardos.State{Serial: c.serial, Kind: c.kind, TriesLeft: c.tries[ix(k)].n, FullTries: c.fullTriesLocked(k), SignCert: c.signCertState}, err
}

// setTries records the retry counter of key k's PIN.
func (c *Card) setTries(k cardos.Key, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries[ix(k)] = triesInfo{n: n, at: c.now(), known: true}
}

// knownLocked reports whether key k's PIN is known to be locked.
func (c *Card) knownLocked(k cardos.Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries[ix(k)].known && c.tries[ix(k)].n == 0
}
