package mynacard

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// Card is one insertion of a My Number credential in a reader (see
// cardos.Credential). Everything public read from it is cached here,
// read at most once; a swapped or re-inserted card is a new Card, so
// data never crosses cards.
//
// Two locks: io is held for a whole card conversation (one at a time per
// card); mu guards the fields and is only held briefly, never during I/O,
// so that slot and session bookkeeping never waits for a signature.
type Card struct {
	ctx    cardos.Context
	reader string
	log    cardos.Logger
	now    func() time.Time // the clock of the retry-counter cache

	// hold says, per key, that a login keeps the PIN (scope operation);
	// fixed at insertion.
	hold [2]bool

	io sync.Mutex
	t  cardos.Transport // guarded by io
	cl *jpki.Client     // guarded by io
	// endReset makes the current transaction end with a card reset (a
	// logout where no other applet could be selected); guarded by io.
	endReset bool
	// verifiedInTx says which PINs the current transaction verified;
	// verifiedBefore which PINs an earlier transaction left verified (a
	// logout in scope session); leaveProven which PINs this card was seen
	// to forget when another applet is selected; leaveByReset that it
	// does not, so that every leave is a card reset (leave.go). Guarded
	// by io.
	verifiedInTx   [2]bool
	verifiedBefore [2]bool
	leaveProven    [2]bool
	leaveByReset   bool
	// mustProve says the card must prove its identity (proveIO) before
	// the next command: set by a new connection to a probed card and by
	// a reset; guarded by io.
	mustProve bool

	mu     sync.Mutex
	probed bool // probe finished (jpki says whether it is JPKI)
	isMyna bool
	kind   cardos.Kind
	// authBehindPIN says the authentication certificate is readable only
	// after the auth PIN (smartphone JPKI): it is read at the login and
	// shown only while logged in, and the card has no identity to prove.
	authBehindPIN bool
	removed       bool // taken out, swapped or closed: everything learnt is dead

	// authHead is the start of the authentication certificate (up to
	// HeadLen bytes, one READ BINARY), read when the card is probed:
	// the card's identity (identity.go), its serial, and proof that
	// the certificate is there. nil when it could not be read without a
	// PIN. The whole certificate (authCert) and the CA certificates are
	// only read when asked for, once per insertion.
	authHead                 []byte
	authCert, authCA, signCA []byte
	authParsed               *x509.Certificate
	serial                   string
	signCertState            cardos.CertPresence
	signProbed               bool // the pre-login look at EF 0001 was made
	// signHead (the start of the signature certificate, read at login)
	// and signCert are held only while the sign key is logged in; they
	// carry the holder's personal data and are never logged.
	signHead   []byte
	signCert   []byte
	signParsed *x509.Certificate
	loggedIn   [2]bool
	// held is the PIN of a logged-in key in scope operation, verified
	// again inside each transaction that needs it (see pinIO).
	held [2]*heldPIN
	// tries caches each PIN's retry counter (see State).
	tries [2]triesInfo
	// full is each PIN's retry counter with every try left as this card
	// reports it, learnt right after a successful VERIFY (learnFullIO);
	// 0 until then.
	full [2]int
	// triesInDoubt says the answer to a command carrying the PIN was
	// lost (pinAnswerLost): the next VERIFY is preceded by a tries query.
	triesInDoubt [2]bool
}

// ix is the index of key k in the per-key arrays.
func ix(k cardos.Key) int {
	if k == cardos.SignKey {
		return 1
	}
	return 0
}

// HeadLen is how much of a certificate one READ BINARY returns; the
// card layer reads this much to identify the card and to learn whether
// the signature certificate exists.
const HeadLen = 256

// kinds maps the JPKI token names in EF 0006 to the credential they
// stand for. The old Juki card is not a My Number Card and gets no token
// (cardos.Kind.Usable).
var kinds = map[string]cardos.Kind{
	jpki.TokenCard: cardos.KindCard, jpki.TokenJuki: cardos.KindJuki,
	jpki.TokenAndroid: cardos.KindAndroid, jpki.TokenIPhone: cardos.KindIPhone,
}

// Attach returns the Card in o.Reader over ctx; it does no card traffic
// (cardos.Attach).
func Attach(ctx cardos.Context, o cardos.CredentialOptions) cardos.Credential {
	return New(ctx, o)
}

// New is Attach returning the concrete type, for the companion command.
func New(ctx cardos.Context, o cardos.CredentialOptions) *Card {
	log := o.Log
	if log == nil {
		log = discard{}
	}
	now := o.Clock
	if now == nil {
		now = time.Now
	}
	return &Card{ctx: ctx, reader: o.Reader, log: log, now: now,
		hold: [2]bool{o.HoldPIN[cardos.AuthKey], o.HoldPIN[cardos.SignKey]}}
}

type discard struct{}

func (discard) Infof(string, ...any)  {}
func (discard) Debugf(string, ...any) {}

// errGone is returned once a card is gone.
var errGone = fmt.Errorf("the card is gone: %w", cardos.ErrCardRemoved)

// Close marks the card gone (removal seen, swap, Finalize) and
// disconnects once the current conversation, if any, is over.
func (c *Card) Close() {
	c.mu.Lock()
	c.removed = true
	c.setLoggedOutLocked()
	c.mu.Unlock()
	c.io.Lock()
	c.closeTransportIO()
	c.io.Unlock()
}

// Probe finds out once whether the card is a JPKI card and, in the same
// transaction, reads its identity (the start of the authentication
// certificate), before anything else is learnt from it. Transient errors
// leave it unprobed so that the next look tries again. A card probed
// before has its connection checked instead (checkConnIO).
func (c *Card) Probe() bool {
	c.io.Lock()
	defer c.io.Unlock()
	if c.isProbed() {
		c.checkConnIO()
		return c.Found()
	}
	var name string
	var head []byte
	behindPIN := false
	err := c.doIO("probe", func(cl *jpki.Client) error {
		if err := cl.Select(); err != nil {
			return err
		}
		var err error
		if name, err = cl.TokenName(); err != nil || !kinds[name].Usable() {
			return err
		}
		head, behindPIN, err = c.readIdentityIO(cl)
		return err
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.probed, c.kind, c.isMyna = true, kinds[name], kinds[name].Usable()
		if c.isMyna {
			if head != nil {
				c.setAuthHeadLocked(head)
			}
			c.authBehindPIN = behindPIN
			c.log.Infof("reader %q: %v found", c.reader, c.kind)
		} else {
			c.log.Infof("reader %q: JPKI token %q is not a My Number Card: no token", c.reader, name)
		}
	case errors.Is(err, cardos.ErrNotJPKI), errors.Is(err, cardos.ErrNotFound):
		c.probed, c.isMyna = true, false
		c.log.Infof("reader %q: the card is not a My Number Card (no JPKI applet): no token", c.reader)
	}
	return c.isMyna && !c.removed
}

// isProbed reports whether the probe finished.
func (c *Card) isProbed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probed
}

// Found reports whether the probe found a My Number credential that is
// still there.
func (c *Card) Found() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probed && c.isMyna && !c.removed
}

// LoggedIn reports the login state of key k.
func (c *Card) LoggedIn(k cardos.Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loggedIn[ix(k)] && !c.removed
}

// Removed reports whether the card is gone.
func (c *Card) Removed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed
}
