package p11

// This file holds the certificates read from the card, once per
// insertion (the signature certificate once per login).

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

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
func (c *card) certLoadedLocked(id cardos.CertID) bool {
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

// loadCert reads certificate id in full, at most once per insertion (the
// signature certificate once per login), continuing from the header
// read before when there is one. The signature certificate needs the
// sign token logged in.
func (c *card) loadCert(ctx cardos.Context, id cardos.CertID) error {
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
	case cardos.AuthCert:
		head = c.authHead
	case cardos.SignCert:
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
		if id == cardos.SignCert {
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
	case cardos.AuthCert:
		c.authCert, c.authParsed = der, cert
		c.setAuthHeadLocked(der)
	case cardos.AuthCACert:
		c.authCA = der
	case cardos.SignCACert:
		c.signCA = der
	case cardos.SignCert:
		if !c.loggedIn[signToken] { // logged out meanwhile: forget it
			clear(der)
			return ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
		}
		c.signCert, c.signParsed = der, cert
	}
	return nil
}
