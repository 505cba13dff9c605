package sim

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
)

// otherEF is a readable EF of an applet other than the JPKI AP.
type otherEF struct {
	app applet
	fid uint16
	// opens lists the key references any one of which, verified in the
	// current applet session, allows READ; empty means free.
	opens []string
	// record marks a record-structured EF (READ RECORD, not READ BINARY).
	record bool
	// personal marks content a trace must redact.
	personal bool
	build    func(s *state) []byte
}

// otherEFs lists the documented EFs. Layouts: MYNA-CARD src/ap/text.rs,
// src/ap/surface.rs, src/ap/common.rs [S], cross-checked where MYNA-RS
// reads the same file (src/text.rs reads text EF 0001 after the PIN and
// takes 17 bytes; src/visual.rs reads visual EF 0002 after 照合番号A and
// skips six objects to the photograph; src/unknown.rs reads record 1 of
// common EF 0001 with no credential) [C where both read it]. Signatures
// and public keys of the face records are placeholders (zero bytes): the
// simulator has no issuer key. Images are generated placeholder PNGs
// (real cards hold JPEG 2000 photographs and 1-bit renderings).
var otherEFs = []otherEF{
	// 個人番号: FF10 with 12 ASCII digits. Opened by the PIN or 照合番号A
	// (MYNA-CARD: "A opens EF 0001 and not 0002"; MYNA-RS uses the PIN).
	{appText, 0x0001, []string{KeyTextPIN, KeyTextCodeA}, false, true, textMyNumberEF},
	// 基本4情報: FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth,
	// DF25 sex }. Opened by the PIN or 照合番号B (MYNA-CARD; MYNA-RS: PIN).
	{appText, 0x0002, []string{KeyTextPIN, KeyTextCodeB}, false, true, textAttributesEF},
	// Age record: FF10 { DF11 birth YYYYMMDD, DF12 key, DF13 signature },
	// opened by the birth-date key (MYNA-CARD surface.rs).
	{appVisual, 0x0001, []string{KeyVisualBirth}, false, true, visualAgeEF},
	// Card face: FF20 { DF21 offsets, DF22 birth, DF23 sex, DF24 key, DF25
	// name image, DF26 address image, DF27 photo, DF28 signature, DF29
	// expiry, DF2A security-code image }, opened by either 照合番号
	// (MYNA-CARD; MYNA-RS opens it with 照合番号A).
	{appVisual, 0x0002, []string{KeyVisualCodeA, KeyVisualCodeB}, false, true, visualFaceEF},
	// Rendered 個人番号: FF40 { DF41 image, DF42 key, DF43 signature },
	// 照合番号A only (MYNA-CARD).
	{appVisual, 0x0005, []string{KeyVisualCodeA}, false, true, visualMyNumberEF},
	// Card information, record 1: 01 1C <serial 15><municipality 5>
	// <expiry YYYYMMDD>, free (MYNA-CARD common.rs, MYNA-RS unknown.rs).
	{appCommon, 0x0001, nil, true, false, commonInfoRecord},
}

func lookupOtherEF(app applet, fid uint16) (otherEF, bool) {
	for _, e := range otherEFs {
		if e.app == app && e.fid == fid {
			return e, true
		}
	}
	return otherEF{}, false
}

// otherKey identifies an EF of another applet in the built contents.
type otherKey struct {
	app applet
	fid uint16
}

// buildOtherEFs lays out the other applets' EFs from the persistent
// memory.
func buildOtherEFs(st *state) map[otherKey][]byte {
	m := make(map[otherKey][]byte, len(otherEFs))
	for _, e := range otherEFs {
		m[otherKey{e.app, e.fid}] = e.build(st)
	}
	return m
}

// tlv encodes one BER object with a one- or two-byte tag and a definite
// length.
func tlv(tag uint16, value []byte) []byte {
	var b []byte
	if tag > 0xFF {
		b = append(b, byte(tag>>8))
	}
	b = append(b, byte(tag))
	switch n := len(value); {
	case n < 0x80:
		b = append(b, byte(n))
	case n <= 0xFF:
		b = append(b, 0x81, byte(n))
	default:
		b = append(b, 0x82, byte(n>>8), byte(n))
	}
	return append(b, value...)
}

// withFiller pads an EF with FF bytes (MYNA-CARD saw FF filler in the 券面
// APs, cardos/jpki/FACTS.md §4.1) to a multiple of 32 bytes.
func withFiller(b []byte) []byte {
	n := (len(b)/32 + 1) * 32
	return append(b, bytes.Repeat([]byte{0xFF}, n-len(b))...)
}

// offsetTable wraps objects in an outer tag with a DF21 table of each
// object's offset from the start of the file (two bytes each), as
// MYNA-CARD documents for text EF 0002 and visual EF 0002.
func offsetTable(outer uint16, objects [][]byte) []byte {
	tableLen := 3 + 2*len(objects) // DF21 tag (2) + length (1) + offsets
	body := 0
	for _, o := range objects {
		body += len(o)
	}
	header := len(tlv(outer, make([]byte, tableLen+body))) - tableLen - body
	pos := header + tableLen
	table := make([]byte, 0, 2*len(objects))
	for _, o := range objects {
		table = append(table, byte(pos>>8), byte(pos))
		pos += len(o)
	}
	value := tlv(0xDF21, table)
	for _, o := range objects {
		value = append(value, o...)
	}
	return tlv(outer, value)
}

func birthYYYYMMDD(s *state) []byte {
	return []byte(strings.ReplaceAll(s.Profile.BirthDate, "-", ""))
}

// placeholderKey is an RSA-2048 public key object (90 exponent, 91
// modulus) with a zero modulus: the face records carry the card's key,
// which the simulator does not have.
func placeholderKey() []byte {
	return append([]byte{0x90, 0x03, 0x01, 0x00, 0x01, 0x91, 0x82, 0x01, 0x00}, make([]byte, 256)...)
}

func textMyNumberEF(s *state) []byte {
	return withFiller(tlv(0xFF10, []byte(s.Other.MyNumber)))
}

func textAttributesEF(s *state) []byte {
	return withFiller(offsetTable(0xFF20, [][]byte{
		tlv(0xDF22, []byte(s.Profile.Name)),
		tlv(0xDF23, []byte(s.Profile.Address)),
		tlv(0xDF24, birthYYYYMMDD(s)),
		tlv(0xDF25, []byte(s.Profile.Sex)),
	}))
}

func visualAgeEF(s *state) []byte {
	v := tlv(0xDF11, birthYYYYMMDD(s))
	v = append(v, tlv(0xDF12, placeholderKey())...)
	v = append(v, tlv(0xDF13, make([]byte, 256))...)
	return withFiller(tlv(0xFF10, v))
}

func visualFaceEF(s *state) []byte {
	expiry := strings.ReplaceAll(s.Other.CardExpiry, "-", "")
	return withFiller(offsetTable(0xFF20, [][]byte{
		tlv(0xDF22, birthYYYYMMDD(s)),
		tlv(0xDF23, []byte(s.Profile.Sex)),
		tlv(0xDF24, placeholderKey()),
		tlv(0xDF25, placeholderImage(256, 32, false)),
		tlv(0xDF26, placeholderImage(256, 48, false)),
		tlv(0xDF27, placeholderImage(96, 120, true)),
		tlv(0xDF28, make([]byte, 256)),
		tlv(0xDF29, []byte(expiry)),
		tlv(0xDF2A, placeholderImage(24, 12, false)),
	}))
}

func visualMyNumberEF(s *state) []byte {
	v := tlv(0xDF41, placeholderImage(72, 12, false))
	v = append(v, tlv(0xDF42, placeholderKey())...)
	v = append(v, tlv(0xDF43, make([]byte, 256))...)
	return withFiller(tlv(0xFF40, v))
}

// fictionalSerial and fictionalMunicipality fill the common AP's card
// information: "99999" is no 全国地方公共団体コード (prefecture codes end
// at 47).
const (
	fictionalSerial       = "000000000000000"
	fictionalMunicipality = "99999"
)

func commonInfoRecord(s *state) []byte {
	expiry := strings.ReplaceAll(s.Other.CardExpiry, "-", "")
	return tlv(0x01, []byte(fictionalSerial+fictionalMunicipality+expiry))
}

// placeholderImage draws a w×h greyscale PNG: a grey frame, and for a
// photograph a plain head-and-shoulders silhouette. It shows nobody.
func placeholderImage(w, h int, portrait bool) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(0xFF)
			if x == 0 || y == 0 || x == w-1 || y == h-1 {
				v = 0x80
			}
			if portrait {
				dx, dy := float64(x-w/2)/float64(w/5), float64(y-h*2/5)/float64(h/4)
				sx, sy := float64(x-w/2)/float64(w/2), float64(y-h)/float64(h/3)
				if dx*dx+dy*dy <= 1 || sx*sx+sy*sy <= 1 {
					v = 0xB0
				}
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory image does not fail
	}
	return buf.Bytes()
}
