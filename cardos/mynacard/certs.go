package mynacard

// This file holds the certificates read from the card, once per
// insertion (the signature certificate once per login).

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// setAuthHeadLocked records the start of the authentication
// certificate and the serial derived from it: 16 hex digits of the
// SHA-256 of its first HeadLen bytes (version, serial number, issuer:
// unique per card). The caller holds c.mu.
func (c *Card) setAuthHeadLocked(der []byte) {
	if c.authHead != nil {
		return
	}
	c.authHead = append([]byte(nil), der[:min(len(der), HeadLen)]...)
	if c.authBehindPIN {
		return // read after the PIN: the serial stays unknown for the insertion
	}
	sum := sha256.Sum256(c.authHead)
	c.serial = hex.EncodeToString(sum[:8])
}

// certLoaded reports whether certificate id is read in full; the caller
// holds c.mu.
func (c *Card) certLoadedLocked(id cardos.CertID) bool {
	switch id {
	case cardos.AuthCert:
		return c.authCert != nil
	case cardos.AuthCACert:
		return c.authCA != nil
	case cardos.SignCACert:
		return c.signCA != nil
	case cardos.SignCert:
		return c.signCert != nil
	}
	return false
}

// certNeedsLoginLocked returns cardos.ErrPINRequired when certificate id
// is shown only while its key is logged in: the signature certificate,
// and the authentication certificate of a credential that keeps it
// behind the PIN (smartphone JPKI), even when it was read at an earlier
// login. The caller holds c.mu.
func (c *Card) certNeedsLoginLocked(id cardos.CertID) error {
	switch {
	case id == cardos.AuthCert && c.authBehindPIN && !c.loggedIn[ix(cardos.AuthKey)],
		id == cardos.SignCert && !c.loggedIn[ix(cardos.SignKey)]:
		return cardos.ErrPINRequired
	}
	return nil
}

// loadCert reads certificate id in full, at most once per insertion (the
// signature certificate once per login), continuing from the header
// read before when there is one. The signature certificate needs the
// sign key logged in.
func (c *Card) loadCert(id cardos.CertID) error {
	c.mu.Lock()
	done, err := c.certLoadedLocked(id), c.certNeedsLoginLocked(id)
	c.mu.Unlock()
	if err != nil || done {
		return err
	}
	c.io.Lock()
	defer c.io.Unlock()
	c.mu.Lock()
	done, err = c.certLoadedLocked(id), c.certNeedsLoginLocked(id)
	var head []byte
	switch id {
	case cardos.AuthCert:
		head = c.authHead
	case cardos.SignCert:
		head = c.signHead
	}
	c.mu.Unlock()
	if err != nil || done {
		return err
	}
	var der []byte
	err = c.doIO("read "+id.String(), func(cl *jpki.Client) error {
		read := func() error {
			var err error
			der, err = cl.ReadCertificateRest(id, head)
			return err
		}
		if id == cardos.SignCert {
			return c.pinIO(cl, cardos.SignKey, read)
		}
		if id == cardos.AuthCert && c.authBehindPIN {
			return c.pinIO(cl, cardos.AuthKey, read)
		}
		err := read()
		if errors.Is(err, cardos.ErrPINRequired) {
			// A certificate read without a PIN answered 6982: the
			// credential keeps it behind a PIN (a smartphone may keep its
			// CA certificates so, sim.Quirks.PhoneCAsBehindPIN). That says
			// nothing about the logins, which doIO would otherwise take
			// as lost; the certificate is not shown.
			return fmt.Errorf("the credential shows the %v only after a PIN: %s", id, err.Error())
		}
		return err
	})
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.log.Infof("reader %q: the %v does not parse", c.reader, id)
		return fmt.Errorf("the %v does not parse: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch id {
	case cardos.AuthCert:
		c.authCert, c.authParsed = der, cert
		c.setAuthHeadLocked(der)
	case cardos.AuthCACert:
		c.authCA = der
	case cardos.SignCACert:
		c.signCA = der
	case cardos.SignCert:
		if !c.loggedIn[ix(cardos.SignKey)] { // logged out meanwhile: forget it
			clear(der)
			return cardos.ErrPINRequired
		}
		c.signCert, c.signParsed = der, cert
	}
	return nil
}

// Cert returns certificate id, DER and parsed, reading it first if
// needed (see loadCert). The signature certificate is returned only
// while the sign key is logged in; the caller must not keep it longer.
func (c *Card) Cert(id cardos.CertID) ([]byte, *x509.Certificate, error) {
	if err := c.loadCert(id); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var der []byte
	var cert *x509.Certificate
	switch id {
	case cardos.AuthCert:
		der, cert = c.authCert, c.authParsed
	case cardos.SignCert:
		der, cert = c.signCert, c.signParsed
	case cardos.AuthCACert:
		der = c.authCA
	case cardos.SignCACert:
		der = c.signCA
	}
	if der == nil { // the signature certificate, gone at a logout meanwhile
		return nil, nil, cardos.ErrPINRequired
	}
	der = append([]byte(nil), der...)
	if cert == nil {
		var err error
		if cert, err = x509.ParseCertificate(der); err != nil {
			return nil, nil, fmt.Errorf("the %v does not parse: %w", id, err)
		}
	}
	return der, cert, nil
}

// Shows reports whether certificate id is known to exist without reading
// anything more: the start of the authentication certificate was read at
// the probe, a CA certificate was read, the signature certificate's
// start was read at the login that still holds.
func (c *Card) Shows(id cardos.CertID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return false
	}
	switch id {
	case cardos.AuthCert:
		return c.authHead != nil && (!c.authBehindPIN || c.loggedIn[ix(cardos.AuthKey)])
	case cardos.AuthCACert:
		return c.authCA != nil
	case cardos.SignCACert:
		return c.signCA != nil
	case cardos.SignCert:
		return c.loggedIn[ix(cardos.SignKey)] && c.signHead != nil
	}
	return false
}

// SignCert reports what is known about the signature certificate.
func (c *Card) SignCert() cardos.CertPresence {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signCertState
}
