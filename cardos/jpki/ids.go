package jpki

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// This file is the one place where the JPKI applet's identifiers are
// defined (cardos/jpki/FACTS.md §1 and §2; OpenSC's driver spells the same
// values in src/libopensc/card-jpki.c and jpki.h). The simulator, the
// recorder and the tests that stand for another program import them.

// KeyEF returns the FID of the key's internal EF.
func KeyEF(k cardos.Key) (uint16, error) {
	switch k {
	case cardos.AuthKey:
		return 0x0017, nil
	case cardos.SignKey:
		return 0x001A, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use cardos.AuthKey or cardos.SignKey)", k)
}

// PINEF returns the FID of the key's PIN EF.
func PINEF(k cardos.Key) (uint16, error) {
	switch k {
	case cardos.AuthKey:
		return 0x0018, nil
	case cardos.SignKey:
		return 0x001B, nil
	}
	return 0, fmt.Errorf("jpki: unknown %v (use cardos.AuthKey or cardos.SignKey)", k)
}

// CertEF returns the FID of the certificate's EF.
func CertEF(id cardos.CertID) (uint16, error) {
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
	// AID is the JPKI applet.
	AID = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}
	// AIDISD is the GlobalPlatform issuer security domain, selected at
	// power-on.
	AIDISD = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00}
	// AIDTextAP is the card-info input-assist applet (券面事項入力補助AP),
	// the fallback applet for logging out.
	AIDTextAP = []byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}
)

// EFToken holds the token name in its first 32 bytes.
const EFToken uint16 = 0x0006

// Token names in EF 0006 (EFToken), as TokenName returns them.
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
