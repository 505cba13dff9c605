package p11

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
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

	io sync.Mutex
	t  cardos.Transport // guarded by io
	cl *jpki.Client     // guarded by io

	mu      sync.Mutex
	probed  bool // probe finished (jpki says whether it is JPKI)
	jpki    bool
	removed bool // taken out, swapped or module finalised: sessions are dead

	authCert, authCA, signCA []byte
	authParsed               *x509.Certificate
	serial                   string
	signCertState            certState
	signProbed               bool // the pre-login look at EF 0001 was made
	// signCert is held only while the sign token is logged in; it carries
	// the holder's personal data and is never logged.
	signCert   []byte
	signParsed *x509.Certificate
	loggedIn   [2]bool
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
	case errors.Is(err, jpki.ErrBadLength):
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
		err = c.t.Begin()
		if err != nil && !errors.Is(err, cardos.ErrCardReset) {
			return c.fail(what, err)
		}
		if err != nil {
			c.onReset()
		}
		err = fn(c.cl)
		endErr := c.t.End(false)
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

// onReset records that the card lost its security state; the caller
// holds c.io.
func (c *card) onReset() {
	c.mu.Lock()
	if c.loggedIn[authToken] || c.loggedIn[signToken] {
		c.log.infof("reader %q: the card was reset by another application; both tokens are logged out", c.reader)
	}
	c.setLoggedOutLocked()
	c.mu.Unlock()
	c.cl.Forget()
}

// setLoggedOutLocked forgets the login of both tokens and the signature
// certificate; the caller holds c.mu.
func (c *card) setLoggedOutLocked() {
	c.loggedIn = [2]bool{}
	clear(c.signCert)
	c.signCert, c.signParsed = nil, nil
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
		// The card says the PIN is not verified: believe it.
		c.mu.Lock()
		c.setLoggedOutLocked()
		c.mu.Unlock()
	}
	c.log.infof("reader %q: %s: %v", c.reader, what, err)
	return mapped
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

// readCertIO reads and parses one certificate; the caller holds c.io.
func (c *card) readCertIO(ctx cardos.Context, id jpki.CertID) ([]byte, *x509.Certificate, error) {
	var der []byte
	err := c.doIO(ctx, "read "+id.String(), func(cl *jpki.Client) error {
		var err error
		der, err = cl.ReadCertificate(id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.log.infof("reader %q: the %v does not parse", c.reader, id)
		return nil, nil, fmt.Errorf("%v does not parse: %v: %w", id, err, ck.Error(ck.CKR_DEVICE_ERROR))
	}
	return der, cert, nil
}

// loadPublic makes sure the public certificates the token shows are
// cached: the authentication certificate (which gives the serial) and
// the CA certificate of kind k. Each is read at most once per insertion.
func (c *card) loadPublic(ctx cardos.Context, k tokenKind) error {
	c.mu.Lock()
	done := c.authCert != nil && ((k == authToken && c.authCA != nil) || (k == signToken && c.signCA != nil))
	c.mu.Unlock()
	if done {
		return nil
	}
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	needAuth, needAuthCA, needSignCA := c.authCert == nil, k == authToken && c.authCA == nil, k == signToken && c.signCA == nil
	c.mu.Unlock()
	if needAuth {
		der, cert, err := c.readCertIO(ctx, jpki.AuthCert)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(der)
		c.mu.Lock()
		c.authCert, c.authParsed, c.serial = der, cert, hex.EncodeToString(sum[:8])
		c.mu.Unlock()
	}
	for _, ca := range []struct {
		need bool
		id   jpki.CertID
		dst  *[]byte
	}{{needAuthCA, jpki.AuthCACert, &c.authCA}, {needSignCA, jpki.SignCACert, &c.signCA}} {
		if !ca.need {
			continue
		}
		der, _, err := c.readCertIO(ctx, ca.id)
		if err != nil {
			return err
		}
		c.mu.Lock()
		*ca.dst = der
		c.mu.Unlock()
	}
	return nil
}

// probeSignCert looks once, before any login, whether the card has a
// signature certificate at all: EF 0001 missing or empty means a card
// without one (holder under 15, face-authentication card). A card that
// asks for the password first leaves the answer to the login.
func (c *card) probeSignCert(ctx cardos.Context) {
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	done := c.signProbed || c.signCertState != certUnknown
	c.signProbed = true
	c.mu.Unlock()
	if done {
		return
	}
	absent := false
	c.doIO(ctx, "look for the signature certificate", func(cl *jpki.Client) error {
		_, err := cl.ReadCertificateHeader(jpki.SignCert, 4)
		absent = errors.Is(err, jpki.ErrNotFound)
		if errors.Is(err, jpki.ErrPINRequired) {
			return nil // expected: the certificate is there, behind the password
		}
		return err
	})
	if absent {
		c.mu.Lock()
		c.signCertState = certAbsent
		c.mu.Unlock()
		c.log.infof("reader %q: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token cannot be used", c.reader)
	}
}

// serialNumber returns the card's serial (16 hex digits of the SHA-256 of
// the authentication certificate), reading the certificate if needed.
func (c *card) serialNumber(ctx cardos.Context) (string, error) {
	if err := c.loadPublic(ctx, authToken); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serial, nil
}

// triesLeft reads the retry counter of the token's PIN with the empty
// VERIFY, which never spends a try.
func (c *card) triesLeft(ctx cardos.Context, k tokenKind) (int, error) {
	var n int
	err := c.do(ctx, "read "+k.String()+" PIN tries", func(cl *jpki.Client) error {
		var err error
		n, err = cl.TriesLeft(k.key())
		return err
	})
	return n, err
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
