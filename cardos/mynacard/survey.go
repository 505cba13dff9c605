package mynacard

import (
	"errors"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// Survey is what a person is shown of a credential without any PIN
// (myna-pkcs11 status): read in one conversation, never the signature
// certificate itself.
type Survey struct {
	// TokenName is EF 0006's token name ("" when the EF is empty) and
	// Kind what it stands for.
	TokenName string
	Kind      cardos.Kind
	// TriesLeft is each PIN's retry counter (empty VERIFY: no try spent).
	TriesLeft map[cardos.Key]int
	// AuthCert is the authentication certificate (DER), nil when it is
	// absent (AuthCertState CertAbsent) or readable only after the PIN
	// (CertUnknown, as on smartphone JPKI).
	AuthCert      []byte
	AuthCertState cardos.CertPresence
	// CA holds the CA certificates the card serves (DER), by ID.
	CA map[cardos.CertID][]byte
	// SignCert says whether a signature certificate exists (CertPresent:
	// there, behind the password).
	SignCert cardos.CertPresence
	// FaceAuth says both counters read 0, as on a face-authentication
	// card, which has no PINs (or both PINs are locked).
	FaceAuth bool
}

// Survey reads everything status shows, in one conversation, without
// any PIN (see Survey). A card without a JPKI applet gives cardos.ErrNotJPKI.
func (c *Card) Survey() (Survey, error) {
	var s Survey
	err := c.do("survey", func(cl *jpki.Client) error {
		s = Survey{TriesLeft: map[cardos.Key]int{}, CA: map[cardos.CertID][]byte{}}
		if err := cl.Select(); err != nil {
			return err
		}
		name, err := cl.TokenName()
		if err != nil && !errors.Is(err, cardos.ErrNotFound) {
			return err
		}
		s.TokenName, s.Kind = name, kinds[name]
		for _, k := range cardos.Keys {
			n, err := cl.TriesLeft(k)
			if err != nil {
				return err
			}
			s.TriesLeft[k] = n
		}
		s.AuthCert, err = cl.ReadCertificate(cardos.AuthCert)
		switch {
		case err == nil:
			s.AuthCertState = cardos.CertPresent
		case errors.Is(err, cardos.ErrNotFound):
			s.AuthCertState = cardos.CertAbsent
		case errors.Is(err, cardos.ErrPINRequired):
			s.AuthCertState = cardos.CertUnknown
		default:
			return err
		}
		for _, id := range []cardos.CertID{cardos.AuthCACert, cardos.SignCACert} {
			der, err := cl.ReadCertificate(id)
			if errors.Is(err, cardos.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			s.CA[id] = der
		}
		// Only whether a signature certificate exists: the first bytes of
		// EF 0001 are refused without the password (present) or missing
		// (absent).
		p, err := cl.LookForSignCert()
		if err != nil {
			return err
		}
		s.SignCert = cardos.CertPresent
		if p == jpki.SignCertAbsent {
			s.SignCert = cardos.CertAbsent
		}
		s.FaceAuth = s.TriesLeft[cardos.AuthKey] == 0 && s.TriesLeft[cardos.SignKey] == 0
		return nil
	})
	return s, err
}
