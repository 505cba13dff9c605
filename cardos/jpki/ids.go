package jpki

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// keyEF returns the FID of the key's internal EF.
func keyEF(k cardos.Key) (uint16, error) {
	switch k {
	case cardos.AuthKey:
		return 0x0017, nil
	case cardos.SignKey:
		return 0x001A, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use cardos.AuthKey or cardos.SignKey)", k)
}

// pinEF returns the FID of the key's PIN EF.
func pinEF(k cardos.Key) (uint16, error) {
	switch k {
	case cardos.AuthKey:
		return 0x0018, nil
	case cardos.SignKey:
		return 0x001B, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use cardos.AuthKey or cardos.SignKey)", k)
}

// fid returns the certificate's EF.
func fid(id cardos.CertID) (uint16, error) {
	switch id {
	case cardos.AuthCert:
		return 0x000A, nil
	case cardos.AuthCACert:
		return 0x000B, nil
	case cardos.SignCert:
		return 0x0001, nil
	case cardos.SignCACert:
		return 0x0002, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use cardos.AuthCert, cardos.AuthCACert, cardos.SignCert or cardos.SignCACert)", id)
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

// Token names in EF 0006 (efTokenInfo), as TokenName returns them.
const (
	// TokenCard is the My Number Card.
	TokenCard = "JPKIAPICCTOKEN2"
	// TokenJuki is the old Basic Resident Registration (Juki) card, not a
	// My Number Card.
	TokenJuki = "JPKIAPICCTOKEN"
	// TokenAndroid is the Android smartphone credential (secure element).
	TokenAndroid = "JPKIAPGPSETOKEN"
	// TokenIPhone is the iPhone smartphone credential.
	TokenIPhone = "JPKIAPIOSTOKEN"
)
