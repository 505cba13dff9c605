package sim

import "bytes"

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

// applets maps the AIDs the card answers to SELECT by DF name.
var applets = []struct {
	aid []byte
	app applet
}{
	{[]byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}, appJPKI},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}, appText},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}, appVisual},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00}, appCommon},
	{[]byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01}, appJuki},
	{[]byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00}, appISD},
}

func lookupApplet(aid []byte) (applet, []byte, bool) {
	for _, a := range applets {
		if bytes.Equal(a.aid, aid) {
			return a.app, a.aid, true
		}
	}
	return appNone, nil, false
}

// EF identifiers of the JPKI AP.
const (
	efSignCert uint16 = 0x0001
	efSignCA   uint16 = 0x0002
	efToken    uint16 = 0x0006
	efPresence uint16 = 0x0008
	efAuthCert uint16 = 0x000A
	efAuthCA   uint16 = 0x000B
	efAuthKey  uint16 = 0x0017
	efAuthPIN  uint16 = 0x0018
	efSignKey  uint16 = 0x001A
	efSignPIN  uint16 = 0x001B
)

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
