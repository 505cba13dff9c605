package p11

import (
	"crypto/x509"
	"errors"
	"sync"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// tokenKind says which of a card's two tokens a slot holds.
type tokenKind int

const (
	authToken tokenKind = iota // 利用者証明用: key 1, 4-digit PIN
	signToken                  // 署名用: key 2, 6-16 character password
)

func (k tokenKind) key() cardos.Key {
	if k == signToken {
		return cardos.SignKey
	}
	return cardos.AuthKey
}

func (k tokenKind) String() string {
	if k == signToken {
		return "sign"
	}
	return "auth"
}

// certState records what is known about the signature certificate.
type certState int

const (
	certUnknown certState = iota // not yet known (needs the password)
	certPresent
	certAbsent // card without signature certificate (under 15, face-auth card)
)

// tokenNames the module accepts as a JPKI token in EF 0006: the My Number
// Card and the smartphone JPKI tokens. The old Juki card
// ("JPKIAPICCTOKEN") is not a My Number Card and gets no token.
var tokenNames = map[string]bool{"JPKIAPICCTOKEN2": true, "JPKIAPGPSETOKEN": true, "JPKIAPIOSTOKEN": true}

// card is one insertion of a card in a reader. Everything public read
// from it is cached here, read at most once; a swapped or re-inserted
// card is a new card value, so data never crosses cards.
//
// Two locks: io is held for a whole card conversation (one at a time per
// card); mu guards the fields and is only held briefly, never during I/O,
// so that slot and session bookkeeping never waits for a signature.
type card struct {
	gen    uint64 // module-wide unique number of this insertion (object handles)
	reader string
	events uint64 // ReaderStatus.Events when the card was seen
	log    *logger

	// scope says, per token, how long the card stays verified after a
	// login (Config.AuthPINScope, SignPINScope); fixed at insertion.
	scope [2]PINScope

	io sync.Mutex
	t  cardos.Transport // guarded by io
	cl *jpki.Client     // guarded by io
	// endReset makes the current transaction end with a card reset (a
	// logout where no other applet could be selected); guarded by io.
	endReset bool
	// verifiedInTx says which PINs the current transaction verified;
	// leaveProven which PINs this card was seen to forget when another
	// applet is selected; leaveByReset that it does not, so that every
	// leave is a card reset (cardleave.go). Guarded by io.
	verifiedInTx [2]bool
	leaveProven  [2]bool
	leaveByReset bool
	// mustProve says the card must prove its identity (proveIO) before
	// the next command: set by a new connection to a probed card and by
	// a reset; guarded by io.
	mustProve bool

	mu      sync.Mutex
	probed  bool // probe finished (jpki says whether it is JPKI)
	jpki    bool
	removed bool // taken out, swapped or module finalised: sessions are dead

	// authHead is the start of the authentication certificate (up to
	// certHeadLen bytes, one READ BINARY), read when the card is probed:
	// the card's identity (cardidentity.go), its serial, and proof that
	// the certificate is there. nil when it could not be read without a
	// PIN. The whole certificate (authCert) and the CA certificates are
	// only read when an object's attributes need them, once per insertion.
	authHead                 []byte
	authCert, authCA, signCA []byte
	authParsed               *x509.Certificate
	serial                   string
	signCertState            certState
	signProbed               bool // the pre-login look at EF 0001 was made
	// signHead (the start of the signature certificate, read at login)
	// and signCert are held only while the sign token is logged in; they
	// carry the holder's personal data and are never logged.
	signHead   []byte
	signCert   []byte
	signParsed *x509.Certificate
	loggedIn   [2]bool
	// held is the PIN of a logged-in ScopeOperation token, verified
	// again inside each transaction that needs it (see pinIO).
	held [2]*heldPIN
	// tries caches each PIN's retry counter (see triesLeft).
	tries [2]triesInfo
	// full is each PIN's retry counter with every try left as this card
	// reports it, learnt right after a successful VERIFY (learnFullIO);
	// 0 until then.
	full [2]int
	// triesInDoubt says the answer to a command carrying the PIN was
	// lost (pinAnswerLost): the next VERIFY is preceded by a tries query.
	triesInDoubt [2]bool
	// attrs caches the attribute sets built from the certificates; the
	// signature token's are dropped at logout.
	attrs map[objKind]attrSet
}

// certHeadLen is how much of a certificate one READ BINARY returns; the
// module reads this much to identify the card and to learn whether the
// signature certificate exists.
const certHeadLen = 256

// errDeviceRemoved is returned once a card is gone.
var errDeviceRemoved = ck.Error(ck.CKR_DEVICE_REMOVED)

// close marks the card gone (removal seen, swap, Finalize) and
// disconnects once the current conversation, if any, is over.
func (c *card) close() {
	c.mu.Lock()
	c.removed = true
	c.setLoggedOutLocked()
	c.mu.Unlock()
	c.io.Lock()
	c.closeTransportIO()
	c.io.Unlock()
}

// probe finds out once whether the card is a JPKI card and, in the same
// transaction, reads its identity (the start of the authentication
// certificate), before anything else is learnt from it. Transient errors
// leave it unprobed so that the next look tries again. A card probed
// before has its connection checked instead (checkConnIO).
func (c *card) probe(ctx cardos.Context) bool {
	c.io.Lock()
	defer c.io.Unlock()
	if c.isProbed() {
		c.checkConnIO(ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.jpki && !c.removed
	}
	var name string
	var head []byte
	err := c.doIO(ctx, "probe", func(cl *jpki.Client) error {
		if err := cl.Select(); err != nil {
			return err
		}
		var err error
		if name, err = cl.TokenName(); err != nil || !tokenNames[name] {
			return err
		}
		head, err = c.readIdentityIO(cl)
		return err
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.probed, c.jpki = true, tokenNames[name]
		if c.jpki {
			if head != nil {
				c.setAuthHeadLocked(head)
			}
			c.log.infof("reader %q: My Number Card found", c.reader)
		} else {
			c.log.infof("reader %q: JPKI token %q is not a My Number Card: no token", c.reader, name)
		}
	case errors.Is(err, jpki.ErrNotJPKI), errors.Is(err, cardos.ErrNotFound):
		c.probed, c.jpki = true, false
		c.log.infof("reader %q: the card is not a My Number Card (no JPKI applet): no token", c.reader)
	}
	return c.jpki && !c.removed
}

// isProbed reports whether the probe finished.
func (c *card) isProbed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probed
}

// isLoggedIn reports the login state of token k.
func (c *card) isLoggedIn(k tokenKind) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loggedIn[k] && !c.removed
}

// isRemoved reports whether the card is gone.
func (c *card) isRemoved() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed
}
