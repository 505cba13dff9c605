package p11

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

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

func (k tokenKind) key() jpki.KeyID {
	if k == signToken {
		return jpki.SignKey
	}
	return jpki.AuthKey
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

	mu      sync.Mutex
	probed  bool // probe finished (jpki says whether it is JPKI)
	jpki    bool
	removed bool // taken out, swapped or module finalised: sessions are dead

	// authHead is the start of the authentication certificate (up to
	// certHeadLen bytes, one READ BINARY): the card's identity (serial)
	// and proof that the certificate is there. The whole certificate
	// (authCert) and the CA certificates are only read when an object's
	// attributes need them, once per insertion.
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
	// attrs caches the attribute sets built from the certificates; the
	// signature token's are dropped at logout.
	attrs map[objKind]attrSet
}

// certHeadLen is how much of a certificate one READ BINARY returns; the
// module reads this much to identify the card and to learn whether the
// signature certificate exists.
const certHeadLen = 256

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

// now is the clock of the retry-counter cache; tests move it.
var now = time.Now

// tokenInUse records that token k's first session opened: the next
// C_GetTokenInfo reads the retry counter again if it is older than
// triesMaxAge.
func (c *card) tokenInUse(k tokenKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.tries[k]
	if t.known && t.n != 0 && now().Sub(t.at) >= triesMaxAge {
		t.stale = true
	}
}

// errDeviceRemoved is returned once a card is gone.
var errDeviceRemoved = ck.Error(ck.CKR_DEVICE_REMOVED)

// mapCardErr turns a cardos or jpki error into a PKCS#11 error, keeping
// the original text for the log.
func mapCardErr(err error) error {
	if err == nil {
		return nil
	}
	var ce ck.Error
	if errors.As(err, &ce) {
		return err
	}
	var wrong *jpki.WrongPINError
	rv := uint(ck.CKR_DEVICE_ERROR)
	switch {
	case errors.Is(err, cardos.ErrCardRemoved), errors.Is(err, cardos.ErrReaderGone), errors.Is(err, cardos.ErrNoCard):
		rv = ck.CKR_DEVICE_REMOVED
	case errors.Is(err, jpki.ErrPINLocked):
		rv = ck.CKR_PIN_LOCKED
	case errors.As(err, &wrong):
		rv = ck.CKR_PIN_INCORRECT
	case errors.Is(err, jpki.ErrPINRequired):
		rv = ck.CKR_USER_NOT_LOGGED_IN
	case errors.Is(err, jpki.ErrBadPINLength):
		rv = ck.CKR_PIN_LEN_RANGE
	case errors.Is(err, jpki.ErrBadDataLength):
		rv = ck.CKR_DATA_LEN_RANGE
	}
	return fmt.Errorf("%w: %w", ck.Error(rv), err)
}

// do runs fn as one card conversation inside a transaction.
func (c *card) do(ctx cardos.Context, what string, fn func(cl *jpki.Client) error) error {
	c.io.Lock()
	defer c.io.Unlock()
	return c.doIO(ctx, what, fn)
}

// doIO runs fn inside Transport.Begin/End; the caller holds c.io. It
// connects when needed, handles a reset by another application (the card
// forgot every PIN: both tokens are logged out, the client forgets its
// selection and fn runs once more) and marks the card removed when it is
// gone.
func (c *card) doIO(ctx cardos.Context, what string, fn func(cl *jpki.Client) error) error {
	if c.isRemoved() {
		return errDeviceRemoved
	}
	if c.t == nil {
		if ctx == nil {
			return errDeviceRemoved
		}
		t, err := ctx.Connect(c.reader)
		if err != nil {
			return c.fail(what, err)
		}
		c.t, c.cl = t, jpki.NewClient(t)
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = c.cl.Begin()
		if err != nil && !errors.Is(err, cardos.ErrCardReset) {
			return c.fail(what, err)
		}
		if err != nil {
			c.onReset()
		}
		c.endReset = false
		err = fn(c.cl)
		endErr := c.cl.End(c.endReset)
		c.endReset = false
		if errors.Is(err, cardos.ErrCardReset) {
			c.onReset()
			continue
		}
		if err == nil && endErr != nil && !errors.Is(endErr, cardos.ErrCardReset) {
			err = endErr
		}
		break
	}
	if err != nil {
		return c.fail(what, err)
	}
	return nil
}

// onReset records that the card lost its security state (another
// application reset it); the caller holds c.io.
func (c *card) onReset() {
	c.mu.Lock()
	c.lostCardStateLocked("the card was reset by another application")
	c.mu.Unlock()
	c.cl.Forget()
}

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

// fail maps err, marks the card removed when it is gone and logs; the
// caller holds c.io.
func (c *card) fail(what string, err error) error {
	mapped := mapCardErr(err)
	switch ck.RV(mapped) {
	case ck.CKR_DEVICE_REMOVED:
		c.mu.Lock()
		c.removed = true
		c.setLoggedOutLocked()
		c.mu.Unlock()
		c.closeTransportIO()
	case ck.CKR_USER_NOT_LOGGED_IN:
		// The card says the PIN is not verified (another program logged
		// out or reset it): believe it.
		c.mu.Lock()
		c.lostCardStateLocked("the card says the PIN is no longer verified (another program logged out?)")
		c.mu.Unlock()
	default:
		if transportLost(err) {
			// pcscd restarted, the card stopped answering or answered
			// garbage: connect afresh at the next call instead of
			// reusing a handle that may be dead.
			c.closeTransportIO()
		}
	}
	c.log.infof("reader %q: %s: %v", c.reader, what, err)
	return mapped
}

// transportLost reports whether err leaves the connection to the card in
// doubt, so that the next conversation connects again.
func transportLost(err error) bool {
	return errors.Is(err, cardos.ErrNoService) || errors.Is(err, cardos.ErrTimeout) || errors.Is(err, cardos.ErrCommFailure)
}

// closeTransportIO disconnects; the caller holds c.io.
func (c *card) closeTransportIO() {
	if c.t != nil {
		c.t.Close()
		c.t, c.cl = nil, nil
	}
}

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

// probe finds out once whether the card is a JPKI card. Transient errors
// leave it unprobed so that the next look tries again.
func (c *card) probe(ctx cardos.Context) bool {
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	probed, ok := c.probed, c.jpki && !c.removed
	c.mu.Unlock()
	if probed {
		return ok
	}
	var name string
	err := c.doIO(ctx, "probe", func(cl *jpki.Client) error {
		if err := cl.Select(); err != nil {
			return err
		}
		var err error
		name, err = cl.TokenName()
		return err
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.probed, c.jpki = true, tokenNames[name]
		if c.jpki {
			c.log.infof("reader %q: My Number Card found", c.reader)
		} else {
			c.log.infof("reader %q: JPKI token %q is not a My Number Card: no token", c.reader, name)
		}
	case errors.Is(err, jpki.ErrNotJPKI), errors.Is(err, jpki.ErrNotFound):
		c.probed, c.jpki = true, false
		c.log.infof("reader %q: the card is not a My Number Card (no JPKI applet): no token", c.reader)
	}
	return c.jpki && !c.removed
}

// setAuthHeadLocked records the start of the authentication
// certificate and the serial derived from it: 16 hex digits of the
// SHA-256 of its first certHeadLen bytes (version, serial number, issuer:
// unique per card). The caller holds c.mu.
func (c *card) setAuthHeadLocked(der []byte) {
	if c.authHead != nil {
		return
	}
	c.authHead = append([]byte(nil), der[:min(len(der), certHeadLen)]...)
	sum := sha256.Sum256(c.authHead)
	c.serial = hex.EncodeToString(sum[:8])
}

// certLoaded reports whether certificate id is read in full; the caller
// holds c.mu.
func (c *card) certLoadedLocked(id jpki.CertID) bool {
	switch id {
	case jpki.AuthCert:
		return c.authCert != nil
	case jpki.AuthCACert:
		return c.authCA != nil
	case jpki.SignCACert:
		return c.signCA != nil
	case jpki.SignCert:
		return c.signCert != nil
	}
	return false
}

// loadCert reads certificate id in full, at most once per insertion (the
// signature certificate once per login), continuing from the header
// read before when there is one. The signature certificate needs the
// sign token logged in.
func (c *card) loadCert(ctx cardos.Context, id jpki.CertID) error {
	c.mu.Lock()
	done := c.certLoadedLocked(id)
	c.mu.Unlock()
	if done {
		return nil
	}
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	done = c.certLoadedLocked(id)
	var head []byte
	switch id {
	case jpki.AuthCert:
		head = c.authHead
	case jpki.SignCert:
		if !c.loggedIn[signToken] {
			c.mu.Unlock()
			return ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
		}
		head = c.signHead
	}
	c.mu.Unlock()
	if done {
		return nil
	}
	var der []byte
	err := c.doIO(ctx, "read "+id.String(), func(cl *jpki.Client) error {
		read := func() error {
			var err error
			der, err = cl.ReadCertificateRest(id, head)
			return err
		}
		if id == jpki.SignCert {
			return c.pinIO(cl, signToken, read)
		}
		return read()
	})
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.log.infof("reader %q: the %v does not parse", c.reader, id)
		return fmt.Errorf("%v does not parse: %v: %w", id, err, ck.Error(ck.CKR_DEVICE_ERROR))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch id {
	case jpki.AuthCert:
		c.authCert, c.authParsed = der, cert
		c.setAuthHeadLocked(der)
	case jpki.AuthCACert:
		c.authCA = der
	case jpki.SignCACert:
		c.signCA = der
	case jpki.SignCert:
		if !c.loggedIn[signToken] { // logged out meanwhile: forget it
			clear(der)
			return ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
		}
		c.signCert, c.signParsed = der, cert
	}
	return nil
}

// tokenState returns what C_GetTokenInfo shows of token k: the card's
// serial (see setAuthHeadLocked), whether the card has a signature
// certificate (sign token), and the PIN's retry counter. What is not
// known yet is read in one transaction, so that nothing depends on what
// another program selected in between and the applet is selected once:
//   - the start of the authentication certificate (one READ BINARY), once
//     per insertion; when unreadable (smartphone JPKI, damaged card) the
//     serial is unknownSerial and serialErr says why;
//   - for the sign token, once before any login, the first bytes of EF
//     0001: missing or empty means a card without a signature
//     certificate (holder under 15, face-authentication card), refused
//     means it is there behind the password;
//   - the retry counter (the empty VERIFY, which never spends a try),
//     when unknown or stale (see triesMaxAge).
func (c *card) tokenState(ctx cardos.Context, k tokenKind) (serial string, serialErr error, tries int, err error) {
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	needSerial := c.serial == ""
	needProbe := k == signToken && !c.signProbed && c.signCertState == certUnknown
	t := c.tries[k]
	needTries := !t.known || t.stale
	c.mu.Unlock()
	var head []byte
	absent := false
	if needSerial || needProbe || needTries {
		err = c.doIO(ctx, "read the "+k.String()+" token's state", func(cl *jpki.Client) error {
			head, absent, serialErr = nil, false, nil
			if needSerial {
				head, serialErr = cl.ReadCertificateHeader(jpki.AuthCert, certHeadLen)
				if cardLevel(serialErr) {
					return serialErr
				}
			}
			if needProbe {
				p, perr := cl.LookForSignCert()
				if cardLevel(perr) {
					return perr
				}
				absent = perr == nil && p == jpki.SignCertAbsent
			}
			if needTries {
				n, terr := cl.TriesLeft(k.key())
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
	if head != nil {
		c.setAuthHeadLocked(head)
	}
	if needProbe && err == nil {
		c.signProbed = true
		if absent {
			c.signCertState = certAbsent
			c.log.infof("reader %q: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token cannot be used", c.reader)
		}
	}
	if serialErr != nil {
		c.log.infof("reader %q: the authentication certificate is unreadable, the token's serial is unknown: %v", c.reader, serialErr)
	}
	return c.serial, serialErr, c.tries[k].n, err
}

// cardLevel reports whether err is about the card or its connection
// (removed, reset, gone, mute) rather than about one file, so that a
// conversation must stop at it.
func cardLevel(err error) bool {
	return err != nil && (errors.Is(err, cardos.ErrCardReset) || errors.Is(err, cardos.ErrCardRemoved) ||
		errors.Is(err, cardos.ErrReaderGone) || errors.Is(err, cardos.ErrNoCard) || transportLost(err))
}

// setTries records the retry counter of token k's PIN.
func (c *card) setTries(k tokenKind, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries[k] = triesInfo{n: n, at: now(), known: true}
}

// knownLocked reports whether token k's PIN is known to be locked.
func (c *card) knownLocked(k tokenKind) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries[k].known && c.tries[k].n == 0
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
