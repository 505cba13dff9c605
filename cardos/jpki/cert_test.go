package jpki

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

func TestTokenName(t *testing.T) {
	pad := func(s string, fill byte) string {
		b := []byte(s)
		for len(b) < 32 {
			b = append(b, fill)
		}
		return hx(b) + ok
	}
	tests := []struct {
		name string
		resp string
		want string
		err  error
	}{
		{"space padded", pad("JPKIAPICCTOKEN2", ' '), "JPKIAPICCTOKEN2", nil},
		{"NUL padded", pad("JPKIAPGPSETOKEN", 0), "JPKIAPGPSETOKEN", nil},
		{"short EF", hx([]byte("JPKIAPICCTOKEN  ")) + ok, "JPKIAPICCTOKEN", nil},
		{"empty EF", "6B00", "", cardos.ErrNotFound},
		{"EF missing", "6A82", "", cardos.ErrNotFound},
		{"too long answer", hx(make([]byte, 33)) + ok, "", cardos.ErrCommFailure},
		{"one byte", "90", "", cardos.ErrCommFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t,
				step{cmd: selJPKI, resp: ok},
				step{cmd: selEF("0006"), resp: ok},
				step{cmd: "00 B0 00 00 20", resp: tt.resp})
			got, err := NewClient(s).TokenName()
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTokenNameSelectFailures(t *testing.T) {
	s := newScript(t, step{cmd: selJPKI, resp: "6A82"})
	_, err := NewClient(s).TokenName()
	require.ErrorIs(t, err, cardos.ErrNotJPKI)
	var ae *apdu.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, apdu.SW(0x6A82), ae.SW)

	s = newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF("0006"), resp: "6A82"})
	_, err = NewClient(s).TokenName()
	require.ErrorIs(t, err, cardos.ErrNotFound)
}

// certEF returns an EF image: the certificate followed by FF filler.
func certEF(valueLen, filler int) (cert, ef []byte) {
	cert = fakeCert(valueLen)
	ef = append(append([]byte(nil), cert...), bytes.Repeat([]byte{0xFF}, filler)...)
	return cert, ef
}

func TestReadCertificateChunks(t *testing.T) {
	long, longEF := certEF(700, 300)   // 704 bytes: 256 + 256 + 192
	exact, exactEF := certEF(508, 40)  // 512 bytes: 256 + 256 (last Le 00)
	short, shortEF := certEF(100, 300) // short-form length, one READ
	mid, midEF := certEF(200, 100)     // 81 long form, one READ
	tests := []struct {
		name  string
		id    cardos.CertID
		fid   string
		reads []step
		want  []byte
	}{
		{"auth cert three reads", cardos.AuthCert, "000A", []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:256]) + ok},
			{cmd: "00 B0 01 00 00", resp: hx(longEF[256:512]) + ok},
			{cmd: "00 B0 02 00 C0", resp: hx(longEF[512:704]) + ok},
		}, long},
		{"auth CA exactly two chunks", cardos.AuthCACert, "000B", []step{
			{cmd: "00 B0 00 00 00", resp: hx(exactEF[:256]) + ok},
			{cmd: "00 B0 01 00 00", resp: hx(exactEF[256:512]) + ok},
		}, exact},
		{"sign CA short form", cardos.SignCACert, "0002", []step{
			{cmd: "00 B0 00 00 00", resp: hx(shortEF[:256]) + ok},
		}, short},
		{"sign cert 81 form", cardos.SignCert, "0001", []step{
			{cmd: "00 B0 00 00 00", resp: hx(midEF[:256]) + ok},
		}, mid},
		{"EF shorter than 256, card answers the rest", cardos.SignCert, "0001", []step{
			{cmd: "00 B0 00 00 00", resp: hx(midEF[:250]) + ok},
		}, mid},
		{"6282 end of file with the data", cardos.SignCert, "0001", []step{
			{cmd: "00 B0 00 00 00", resp: hx(mid) + "6282"},
		}, mid},
		{"61xx chained through GET RESPONSE", cardos.AuthCert, "000A", []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:100]) + "619C"},
			{cmd: "00 C0 00 00 9C", resp: hx(longEF[100:256]) + ok},
			{cmd: "00 B0 01 00 00", resp: "6100"},
			{cmd: "00 C0 00 00 00", resp: hx(longEF[256:512]) + ok},
			{cmd: "00 B0 02 00 C0", resp: hx(longEF[512:704]) + ok},
		}, long},
		{"short answers (255, 200, 1 byte): read on to the DER length", cardos.AuthCert, "000A", []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:255]) + ok},
			{cmd: "00 B0 00 FF 00", resp: hx(longEF[255:455]) + ok},
			{cmd: "00 B0 01 C7 F9", resp: hx(longEF[455:456]) + ok},
			{cmd: "00 B0 01 C8 F8", resp: hx(longEF[456:704]) + ok},
		}, long},
		{"header in pieces", cardos.SignCert, "0001", []step{
			{cmd: "00 B0 00 00 00", resp: hx(midEF[:1]) + ok},
			{cmd: "00 B0 00 01 00", resp: hx(midEF[1:2]) + ok},
			{cmd: "00 B0 00 02 00", resp: hx(midEF[2:100]) + ok},
			{cmd: "00 B0 00 64 67", resp: hx(midEF[100:203]) + ok},
		}, mid},
		{"6Cxx resent with the corrected Le", cardos.AuthCert, "000A", []step{
			{cmd: "00 B0 00 00 00", resp: "6C68"},
			{cmd: "00 B0 00 00 68", resp: hx(shortEF[:0x68]) + ok},
		}, short},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF(tt.fid), resp: ok})
			s.add(tt.reads...)
			got, err := began(t, s).ReadCertificate(tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadCertificateErrors(t *testing.T) {
	_, longEF := certEF(700, 300)
	tests := []struct {
		name  string
		selEF string // response to SELECT EF
		reads []step
		err   error
		sw    apdu.SW // when non-zero, the wrapped *apdu.Error's SW
	}{
		{"EF absent", "6A82", nil, cardos.ErrNotFound, 0x6A82},
		{"sign cert before PIN", ok, []step{{cmd: "00 B0 00 00 00", resp: "6982"}}, cardos.ErrPINRequired, 0x6982},
		{"empty EF 6B00", ok, []step{{cmd: "00 B0 00 00 00", resp: "6B00"}}, cardos.ErrNotFound, 0},
		{"empty EF no data", ok, []step{{cmd: "00 B0 00 00 00", resp: ok}}, cardos.ErrNotFound, 0},
		{"FF filler only", ok, []step{{cmd: "00 B0 00 00 00", resp: hx(bytes.Repeat([]byte{0xFF}, 256)) + ok}}, cardos.ErrNotFound, 0},
		{"00 filler only", ok, []step{{cmd: "00 B0 00 00 00", resp: hx(make([]byte, 256)) + ok}}, cardos.ErrNotFound, 0},
		{"garbage tag", ok, []step{{cmd: "00 B0 00 00 00", resp: "31820100" + hx(make([]byte, 252)) + ok}}, cardos.ErrCommFailure, 0},
		{"indefinite length", ok, []step{{cmd: "00 B0 00 00 00", resp: "3080" + hx(make([]byte, 254)) + ok}}, cardos.ErrCommFailure, 0},
		{"absurd length", ok, []step{{cmd: "00 B0 00 00 00", resp: "3084FFFFFFFF" + hx(make([]byte, 250)) + ok}}, cardos.ErrCommFailure, 0},
		{"length beyond addressable EF", ok, []step{{cmd: "00 B0 00 00 00", resp: "3082FFF0" + hx(make([]byte, 252)) + ok}}, cardos.ErrCommFailure, 0},
		{"header cut short", ok, []step{
			{cmd: "00 B0 00 00 00", resp: "3082" + ok},
			{cmd: "00 B0 00 02 00", resp: "6B00"},
		}, cardos.ErrCommFailure, 0},
		{"one-byte response", ok, []step{{cmd: "00 B0 00 00 00", resp: "90"}}, cardos.ErrCommFailure, 0},
		{"empty response", ok, []step{{cmd: "00 B0 00 00 00", resp: ""}}, cardos.ErrCommFailure, 0},
		{"more data than Le through 61xx", ok, []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:200]) + "6140"},
			{cmd: "00 C0 00 00 40", resp: hx(longEF[200:264]) + ok},
		}, cardos.ErrCommFailure, 0},
		{"more data than Le", ok, []step{{cmd: "00 B0 00 00 00", resp: hx(longEF[:257]) + ok}}, cardos.ErrCommFailure, 0},
		{"truncated: short chunk, then 6B00", ok, []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:256]) + ok},
			{cmd: "00 B0 01 00 00", resp: hx(longEF[256:300]) + ok},
			{cmd: "00 B0 01 2C 00", resp: "6B00"},
		}, cardos.ErrCommFailure, 0},
		{"truncated: an answer with no data ends the reads", ok, []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:100]) + ok},
			{cmd: "00 B0 00 64 00", resp: ok},
		}, cardos.ErrCommFailure, 0},
		{"truncated: 6B00", ok, []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:256]) + ok},
			{cmd: "00 B0 01 00 00", resp: "6B00"},
		}, cardos.ErrCommFailure, 0},
		{"wrong SW mid-way", ok, []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:256]) + ok},
			{cmd: "00 B0 01 00 00", resp: "6F00"},
		}, nil, 0x6F00},
		{"card removed mid-way", ok, []step{
			{cmd: "00 B0 00 00 00", resp: hx(longEF[:256]) + ok},
			{cmd: "00 B0 01 00 00", err: cardos.ErrCardRemoved},
		}, cardos.ErrCardRemoved, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF("0001"), resp: tt.selEF})
			s.add(tt.reads...)
			got, err := began(t, s).ReadCertificate(cardos.SignCert)
			require.Error(t, err)
			assert.Nil(t, got)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			}
			if tt.sw != 0 {
				var ae *apdu.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.sw, ae.SW)
			}
		})
	}
}

func TestReadCertificateUnknownID(t *testing.T) {
	s := newScript(t)
	_, err := began(t, s).ReadCertificate(cardos.CertID(9))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CertID(9)")
}

func TestReadCertificateHeader(t *testing.T) {
	cert, ef := certEF(700, 300)
	small, smallEF := certEF(20, 300)
	tests := []struct {
		name  string
		n     int
		reads []step
		want  []byte
		err   error
	}{
		{"first 64 bytes", 64, []step{{cmd: "00 B0 00 00 40", resp: hx(ef[:64]) + ok}}, cert[:64], nil},
		{"300 bytes in two reads", 300, []step{
			{cmd: "00 B0 00 00 00", resp: hx(ef[:256]) + ok},
			{cmd: "00 B0 01 00 2C", resp: hx(ef[256:300]) + ok},
		}, cert[:300], nil},
		{"capped at the certificate", 64, []step{{cmd: "00 B0 00 00 40", resp: hx(smallEF[:64]) + ok}}, small, nil},
		{"3 bytes: header not complete", 3, []step{{cmd: "00 B0 00 00 03", resp: hx(ef[:3]) + ok}}, cert[:3], nil},
		{"EF ends early", 64, []step{
			{cmd: "00 B0 00 00 40", resp: hx(cert[:10]) + ok},
			{cmd: "00 B0 00 0A 36", resp: "6B00"},
		}, cert[:10], nil},
		{"short answers: read on", 300, []step{
			{cmd: "00 B0 00 00 00", resp: hx(ef[:2]) + ok},
			{cmd: "00 B0 00 02 00", resp: hx(ef[2:200]) + ok},
			{cmd: "00 B0 00 C8 64", resp: hx(ef[200:300]) + ok},
		}, cert[:300], nil},
		{"empty", 64, []step{{cmd: "00 B0 00 00 40", resp: "6B00"}}, nil, cardos.ErrNotFound},
		{"absurd length", 8, []step{{cmd: "00 B0 00 00 08", resp: "3084FFFFFFFF0000" + ok}}, nil, cardos.ErrCommFailure},
		{"PIN required", 8, []step{{cmd: "00 B0 00 00 08", resp: "6982"}}, nil, cardos.ErrPINRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF("000A"), resp: ok})
			s.add(tt.reads...)
			got, err := began(t, s).ReadCertificateHeader(cardos.AuthCert, tt.n)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, n := range []int{0, -1, maxCertLen + 1} {
		_, err := began(t, newScript(t)).ReadCertificateHeader(cardos.AuthCert, n)
		require.ErrorIs(t, err, cardos.ErrBadDataLength, "n=%d", n)
	}
}

func TestCertLength(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		err  error
	}{
		{"short form", "307F", 0x81, nil},
		{"81 form", "3081C8", 0xCB, nil},
		{"82 form", "308204D2", 0x4D6, nil},
		{"largest readable", "30827FFB", 0x7FFF, nil},
		{"too large", "30827FFC", 0, errBadDER},
		{"too small", "3005", 0, errBadDER},
		{"indefinite", "3080", 0, errBadDER},
		{"83 form", "3083010000", 0, errBadDER},
		{"84 form", "3084FFFFFFFF", 0, errBadDER},
		{"FF length byte", "30FF", 0, errBadDER},
		{"non-minimal 81", "30817F", 0, errBadDER},
		{"non-minimal 82", "308200FF", 0, errBadDER},
		{"wrong tag", "0482010000", 0, errBadDER},
		{"empty", "", 0, errShortHeader},
		{"tag only", "30", 0, errShortHeader},
		{"81 cut", "3081", 0, errShortHeader},
		{"82 cut", "308201", 0, errShortHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certLength(unhex(t, tt.in))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.True(t, errors.Is(err, errBadDER) != errors.Is(err, errShortHeader))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
