package sim

import (
	"bytes"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// applet is an application (DF) of the card.
type applet int

const (
	appNone   applet = iota // card-manager / MF level after power on
	appISD                  // GlobalPlatform issuer security domain
	appJPKI                 // 公的個人認証AP
	appText                 // 券面事項入力補助AP
	appVisual               // 券面事項確認AP
	appCommon               // 共通カードAP
	appJuki                 // 住基AP
)

// applets maps the AIDs the card answers to SELECT by DF name. Those the
// module uses come from its client (cardos/jpki/ids.go); the other
// applets of the card are known only here (cardos/jpki/FACTS.md §1).
var applets = []struct {
	aid []byte
	app applet
}{
	{jpki.AID, appJPKI},
	{jpki.AIDTextAP, appText},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}, appVisual},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00}, appCommon},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01}, appJuki},
	{jpki.AIDISD, appISD},
}

func lookupApplet(aid []byte) (applet, []byte, bool) {
	for _, a := range applets {
		if bytes.Equal(a.aid, aid) {
			return a.app, a.aid, true
		}
	}
	return appNone, nil, false
}

// EF identifiers of the JPKI AP: those the module uses come from its
// client (cardos/jpki/ids.go); efPresence only the simulator knows
// (cardos/jpki/FACTS.md §2).
var (
	efSignCert = fid(jpki.CertEF(cardos.SignCert))
	efSignCA   = fid(jpki.CertEF(cardos.SignCACert))
	efAuthCert = fid(jpki.CertEF(cardos.AuthCert))
	efAuthCA   = fid(jpki.CertEF(cardos.AuthCACert))
	efAuthKey  = fid(jpki.KeyEF(cardos.AuthKey))
	efAuthPIN  = fid(jpki.PINEF(cardos.AuthKey))
	efSignKey  = fid(jpki.KeyEF(cardos.SignKey))
	efSignPIN  = fid(jpki.PINEF(cardos.SignKey))
)

const (
	efToken           = jpki.EFToken
	efPresence uint16 = 0x0008
)

// fid is the FID a jpki function names.
func fid(f uint16, err error) uint16 {
	if err != nil {
		panic(err)
	}
	return f
}

// internalEFs are selectable but not readable (keys, PINs, and EFs seen
// by an EF sweep whose purpose is unknown): READ BINARY answers 6981.
var internalEFs = map[uint16]bool{
	efAuthKey: true, efAuthPIN: true, efSignKey: true, efSignPIN: true,
	0x0005: true, 0x0009: true, 0x0010: true, 0x0016: true, 0x0019: true, 0x001C: true, 0x001E: true,
}

// buildEFs lays out the readable EFs of the JPKI AP from the persistent
// memory: certificates padded with filler to the EF size, the token
// information of device d and the certificate-presence bytes.
func buildEFs(st *state, d Device) map[uint16][]byte {
	q := st.Quirks
	m := map[uint16][]byte{
		efAuthCert: certEF(st.AuthCert, q),
		efAuthCA:   certEF(st.AuthCA, q),
		efSignCA:   certEF(st.SignCA, q),
	}
	token := bytes.Repeat([]byte{' '}, 32)
	copy(token, d.TokenName())
	m[efToken] = append(token, make([]byte, 128)...)
	presence := []byte{0x8F, 0x8F, 0x00}
	switch {
	case len(st.SignCert) > 0:
		m[efSignCert] = certEF(st.SignCert, q)
	case q.NoSignCertEF == SignEFFiller:
		m[efSignCert] = certEF(nil, q)
		presence[0] = 0x00
	case q.NoSignCertEF == SignEFEmpty:
		m[efSignCert] = []byte{}
		presence[0] = 0x00
	default: // SignEFAbsent
		presence[0] = 0x00
	}
	m[efPresence] = presence
	return m
}

func certEF(der []byte, q Quirks) []byte {
	size := q.CertEFSize
	if size <= 0 {
		size = 2048
	}
	if size < len(der) {
		size = len(der)
	}
	b := bytes.Repeat([]byte{q.filler()}, size)
	copy(b, der)
	return b
}
