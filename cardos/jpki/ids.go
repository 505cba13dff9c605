package jpki

import "fmt"

// KeyID names one of the two private keys of the JPKI applet.
type KeyID int

// The two keys of the applet.
const (
	// AuthKey is the user-authentication key (利用者証明用), EF 0017,
	// guarded by the 4-digit PIN in EF 0018 (3 tries).
	AuthKey KeyID = 1
	// SignKey is the digital-signature key (署名用), EF 001A, guarded by the
	// 6–16 character password in EF 001B (5 tries).
	SignKey KeyID = 2
)

// String names the key.
func (k KeyID) String() string {
	switch k {
	case AuthKey:
		return "authentication key"
	case SignKey:
		return "signature key"
	}
	return fmt.Sprintf("KeyID(%d)", int(k))
}

// MaxTries returns the retry limit of the key's PIN: 3 for AuthKey, 5 for
// SignKey, 0 for an unknown key.
func (k KeyID) MaxTries() int {
	switch k {
	case AuthKey:
		return 3
	case SignKey:
		return 5
	}
	return 0
}

// keyEF returns the FID of the key's internal EF.
func (k KeyID) keyEF() (uint16, error) {
	switch k {
	case AuthKey:
		return 0x0017, nil
	case SignKey:
		return 0x001A, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use AuthKey or SignKey)", k)
}

// pinEF returns the FID of the key's PIN EF.
func (k KeyID) pinEF() (uint16, error) {
	switch k {
	case AuthKey:
		return 0x0018, nil
	case SignKey:
		return 0x001B, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use AuthKey or SignKey)", k)
}

// CertID names one of the four certificates of the JPKI applet.
type CertID int

// The four certificates of the applet.
const (
	// AuthCert is the user-authentication certificate, EF 000A.
	AuthCert CertID = iota + 1
	// AuthCACert is the CA certificate that issued AuthCert, EF 000B.
	AuthCACert
	// SignCert is the digital-signature certificate, EF 0001. It carries
	// the holder's name, address, birth date and sex, and the card only
	// lets it be read after the signature password was verified.
	SignCert
	// SignCACert is the CA certificate that issued SignCert, EF 0002.
	SignCACert
)

// String names the certificate.
func (id CertID) String() string {
	switch id {
	case AuthCert:
		return "authentication certificate"
	case AuthCACert:
		return "authentication CA certificate"
	case SignCert:
		return "signature certificate"
	case SignCACert:
		return "signature CA certificate"
	}
	return fmt.Sprintf("CertID(%d)", int(id))
}

// fid returns the certificate's EF.
func (id CertID) fid() (uint16, error) {
	switch id {
	case AuthCert:
		return 0x000A, nil
	case AuthCACert:
		return 0x000B, nil
	case SignCert:
		return 0x0001, nil
	case SignCACert:
		return 0x0002, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use AuthCert, AuthCACert, SignCert or SignCACert)", id)
}

// Application identifiers.
var (
	// aidJPKI is the JPKI applet.
	aidJPKI = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}
	// aidISD is the GlobalPlatform issuer security domain, selected at
	// power-on.
	aidISD = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00}
	// aidTextAP is the card-info input-assist applet (券面事項入力補助AP),
	// the fallback applet for logging out.
	aidTextAP = []byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}
)

// efTokenInfo holds the token name in its first 32 bytes.
const efTokenInfo uint16 = 0x0006
