package p11

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Token identification. The labels tell a person which key is which and
// fit the 32-byte field.
const (
	authLabel         = "My Number Card (Auth)"
	signLabel         = "My Number Card (Sign)"
	signLabelNoCert   = "My Number Card (Sign: none)"
	tokenManufacturer = "J-LIS"
	tokenModel        = "JPKI"
)

// TokenInfo implements C_GetTokenInfo. It reports CKF_USER_PIN_COUNT_LOW,
// CKF_USER_PIN_FINAL_TRY and CKF_USER_PIN_LOCKED from the PIN's retry
// counter, read with the empty VERIFY (which never spends a try) unless
// it was learnt less than 5 s ago, by such a query or from the answer to
// a VERIFY; a locked PIN stays locked for the insertion. The serial
// number is 16 hex digits of the SHA-256 of the first 256 bytes of the
// card's authentication certificate (its version, serial number and
// issuer: one READ BINARY when the card is probed, more when the reader
// answers fewer bytes), the same on both tokens of a card and different
// between cards.
func (m *Module) TokenInfo(slot SlotID) (TokenInfo, error) {
	ref, c, err := m.tokenCard(slot)
	if err != nil {
		return TokenInfo{}, err
	}
	if _, err := m.context(); err != nil {
		return TokenInfo{}, err
	}
	st, err := c.card.State(ref.kind)
	if err != nil {
		return TokenInfo{}, m.cardResult(c, err)
	}
	serial, tries := st.Serial, st.TriesLeft
	if serial == "" {
		// No authentication certificate readable without a PIN
		// (smartphone JPKI, a damaged card): nothing tells this
		// credential from another, and the card layer makes it a new
		// insertion after every reconnection, so its serial is this
		// insertion's own.
		serial = c.ownSerial
	}
	info := TokenInfo{
		Label:              authLabel,
		ManufacturerID:     tokenManufacturer,
		Model:              modelOf(st.Kind),
		SerialNumber:       serial,
		Flags:              ck.CKF_LOGIN_REQUIRED | ck.CKF_USER_PIN_INITIALIZED | ck.CKF_TOKEN_INITIALIZED | ck.CKF_WRITE_PROTECTED,
		MaxSessionCount:    ck.CK_EFFECTIVELY_INFINITE,
		MaxRwSessionCount:  ck.CK_EFFECTIVELY_INFINITE,
		MinPinLen:          authPINLen,
		MaxPinLen:          authPINLen,
		TotalPublicMemory:  ck.CK_UNAVAILABLE_INFORMATION,
		FreePublicMemory:   ck.CK_UNAVAILABLE_INFORMATION,
		TotalPrivateMemory: ck.CK_UNAVAILABLE_INFORMATION,
		FreePrivateMemory:  ck.CK_UNAVAILABLE_INFORMATION,
		HardwareVersion:    Version{1, 0},
		FirmwareVersion:    Version{1, 0},
	}
	maxTries := st.FullTries
	if ref.kind == signToken {
		info.Label, info.MinPinLen, info.MaxPinLen = signLabel, signPINMinLen, signPINMaxLen
		if st.SignCert == cardos.CertAbsent {
			info.Label = signLabelNoCert
			info.Flags &^= ck.CKF_USER_PIN_INITIALIZED
		}
	}
	switch {
	case tries == 0:
		info.Flags |= ck.CKF_USER_PIN_LOCKED
	case tries == 1:
		info.Flags |= ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY
	case tries < maxTries:
		info.Flags |= ck.CKF_USER_PIN_COUNT_LOW
	}
	m.mu.Lock()
	info.SessionCount = m.countLocked(c, ref.kind, false)
	info.RwSessionCount = m.countLocked(c, ref.kind, true)
	m.mu.Unlock()
	return info, nil
}

// Credential says what the token in slot belongs to (a My Number Card, a
// smartphone credential), for the companion command's reports; it is not
// a PKCS#11 function. It reads what TokenInfo reads.
func (m *Module) Credential(slot SlotID) (cardos.Kind, error) {
	ref, c, err := m.tokenCard(slot)
	if err != nil {
		return cardos.KindUnknown, err
	}
	if _, err := m.context(); err != nil {
		return cardos.KindUnknown, err
	}
	st, err := c.card.State(ref.kind)
	if err != nil {
		return cardos.KindUnknown, m.cardResult(c, err)
	}
	return st.Kind, nil
}

// modelOf is CK_TOKEN_INFO's model: the card, or which smartphone
// credential it is.
func modelOf(k cardos.Kind) string {
	switch k {
	case cardos.KindAndroid:
		return tokenModel + " Android"
	case cardos.KindIPhone:
		return tokenModel + " iPhone"
	}
	return tokenModel
}

// MechanismList implements C_GetMechanismList.
func (m *Module) MechanismList(slot SlotID) ([]MechanismType, error) {
	if _, _, err := m.tokenCard(slot); err != nil {
		return nil, err
	}
	return append([]MechanismType(nil), mechanisms...), nil
}

// MechanismInfo implements C_GetMechanismInfo.
func (m *Module) MechanismInfo(slot SlotID, mech MechanismType) (MechanismInfo, error) {
	if _, _, err := m.tokenCard(slot); err != nil {
		return MechanismInfo{}, err
	}
	if _, ok := hashes[mech]; ok {
		return MechanismInfo{Flags: ck.CKF_DIGEST}, nil
	}
	if _, ok := signMechs[mech]; ok {
		return MechanismInfo{MinKeySize: 2048, MaxKeySize: 2048, Flags: ck.CKF_HW | ck.CKF_SIGN | ck.CKF_VERIFY}, nil
	}
	return MechanismInfo{}, fmt.Errorf("%s: %w", ck.MechName(uint(mech)), ck.Error(ck.CKR_MECHANISM_INVALID))
}

// InitToken implements C_InitToken: the card cannot be initialised.
func (m *Module) InitToken(slot SlotID, soPIN, label []byte) error {
	if _, err := m.slot(slot); err != nil {
		return err
	}
	return ck.Error(ck.CKR_FUNCTION_NOT_SUPPORTED)
}
