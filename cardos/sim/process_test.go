package sim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one command and the expected status word (4 hex digits) or,
// with a leading "=", the whole expected response.
type step struct{ cmd, want string }

func runSteps(t *testing.T, c *Card, steps []step) {
	t.Helper()
	for i, s := range steps {
		got := tx(t, c, s.cmd)
		if strings.HasPrefix(s.want, "=") {
			assert.Equal(t, s.want[1:], got, "step %d: %s", i, s.cmd)
		} else {
			assert.Equal(t, s.want, sw(got), "step %d: %s", i, s.cmd)
		}
	}
}

func TestAPDUs(t *testing.T) {
	tests := []struct {
		name  string
		q     Quirks
		steps []step
	}{
		{"select JPKI no FCI", Quirks{}, []step{{selJPKI, "=9000"}}},
		{"select JPKI with FCI", Quirks{}, []step{{"00A404000AD392F00026010000000100", "=6F0C840AD392F0002601000000019000"}}},
		{"select every AP", Quirks{}, []step{{selISD, "9000"}, {selText, "9000"}, {"00A4040C0AD3921000310001010402", "9000"},
			{"00A4040C0AD3921000310001010100", "9000"}, {"00A4040C0AD3921000310001010401", "9000"}}},
		{"unknown AID", Quirks{}, []step{{"00A4040C07A0000000031010", "6A82"}, {"00A4040C0AD392F000260100000002", "6A82"}}},
		{"AID prefix is not enough", Quirks{}, []step{{"00A4040C05D392F00026", "6A82"}}},
		{"select EF without AP", Quirks{}, []step{{"00A4020C02000A", "6A82"}}},
		{"unknown EF", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020003", "6A82"}, {"00A4020C023F00", "6A82"}}},
		{"EF in other AP not modelled", Quirks{}, []step{{selText, "9000"}, {"00A4020C02000A", "6A82"}}},
		{"MF select", Quirks{}, []step{{"00A40000", "6A86"}, {selJPKI, "9000"}, {"00A40000", "9000"}, {"00A4000C023F00", "6A82"}}},
		{"select bad P1/P2", Quirks{}, []step{{"00A4080C020001", "6A86"}, {"00A404040AD392F000260100000001", "6A86"}}},
		{"token info", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020006", "9000"},
			{"00B0000020", "=4A504B494150494343544F4B454E3220202020202020202020202020202020209000"}}},
		{"presence", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020008", "9000"}, {"00B0000003", "=8F8F009000"}}},
		{"read past end", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020008", "9000"}, {"00B0000300", "6B00"}, {"00B0000200", "=009000"}}},
		{"read without EF", Quirks{}, []step{{selJPKI, "9000"}, {"00B0000004", "6986"}}},
		{"read without Le", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020008", "9000"}, {"00B00000", "6700"}}},
		{"read sign cert needs PIN", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020001", "9000"}, {"00B0000004", "6982"}}},
		{"read internal EFs", Quirks{}, []step{{selJPKI, "9000"}, {selAuthKey, "9000"}, {"00B0000004", "6981"},
			{selAuthPIN, "9000"}, {"00B0000004", "6981"}, {selSignKey, "9000"}, {"00B0000004", "6981"}, {selSignPIN, "9000"}, {"00B0000004", "6981"}}},
		{"SFI read", Quirks{}, []step{{selJPKI, "9000"}, {"00B0880003", "=8F8F009000"}}},
		{"empty verify", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {query, "63C3"}, {selSignPIN, "9000"}, {query, "63C5"}}},
		{"verify auth", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {query, "63C3"}}},
		{"verify sign is case sensitive", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {lowerSign, "63C4"}, {verifySign, "9000"}, {query, "63C5"}}},
		{"verify SFI form", Quirks{}, []step{{selJPKI, "9000"}, {"0020009804" + "31323334", "9000"}, {"00200098", "63C3"}}},
		{"verify without EF", Quirks{}, []step{{selJPKI, "9000"}, {verifyAuth, "6986"}}},
		{"verify on non-PIN EF", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C02000A", "9000"}, {verifyAuth, "6981"}}},
		{"verify bad P1", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {"0020018004" + "31323334", "6A86"}}},
		{"auth lockout", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "63C2"}, {wrongAuth, "63C1"},
			{wrongAuth, "63C0"}, {wrongAuth, "6984"}, {verifyAuth, "6984"}, {query, "63C0"}}},
		{"auth lockout query 6984", Quirks{BlockedQuerySW: 0x6984}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "63C2"},
			{wrongAuth, "63C1"}, {wrongAuth, "63C0"}, {query, "6984"}}},
		{"auth counter reset on success", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "63C2"}, {wrongAuth, "63C1"},
			{verifyAuth, "9000"}, {query, "63C3"}, {wrongAuth, "63C2"}}},
		{"sign lockout", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {wrongSign, "63C4"}, {wrongSign, "63C3"}, {wrongSign, "63C2"},
			{wrongSign, "63C1"}, {wrongSign, "63C0"}, {verifySign, "6984"}, {query, "63C0"}}},
		{"sign counter reset on success", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {wrongSign, "63C4"}, {wrongSign, "63C3"},
			{verifySign, "9000"}, {query, "63C5"}}},
		{"sign cert readable after PIN", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"},
			{"00A4020C020001", "9000"}, {"00B0000004", "9000"}}},
		{"failed verify drops security state", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"},
			{wrongSign, "63C4"}, {"00A4020C020001", "9000"}, {"00B0000004", "6982"}}},
		{"sign without PIN", Quirks{}, []step{{selJPKI, "9000"}, {selAuthKey, "9000"}, {"802A00800401020304" + "00", "6982"}}},
		{"sign with other PIN", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}, {selAuthKey, "9000"},
			{"802A00800401020304" + "00", "6982"}}},
		{"sign on non-key EF", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {"802A00800401020304" + "00", "6981"}}},
		{"sign too long", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"},
			{"802A0080F6" + strings.Repeat("AA", 246) + "00", "6700"}}},
		{"sign too long 6985", Quirks{SignTooLongSW: 0x6985}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"},
			{"802A0080F6" + strings.Repeat("AA", 246) + "00", "6985"}}},
		{"sign P1 01 off by default", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"},
			{"802A01800401020304" + "00", "6A86"}}},
		{"sign P1 06 never", Quirks{SignSchemes: true}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"},
			{"802A06800401020304" + "00", "6A86"}}},
		{"other AP clears PINs", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}, {selISD, "9000"}, {selJPKI, "9000"},
			{"00A4020C020001", "9000"}, {"00B0000004", "6982"}}},
		{"reselect keeps PINs by default", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}, {selJPKI, "9000"},
			{"00A4020C020001", "9000"}, {"00B0000004", "9000"}}},
		{"reselect clears PINs quirk", Quirks{ReselectClearsPINs: true}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"},
			{selJPKI, "9000"}, {"00A4020C020001", "9000"}, {"00B0000004", "6982"}}},
		{"change PIN needs verify", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {"0024018004" + "35363738", "6982"}}},
		{"change PIN", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {"0024018004" + "35363738", "9000"},
			{verifyAuth, "63C2"}, {"0020008004" + "35363738", "9000"}}},
		{"change PIN policy", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {"0024018003" + "353637", "6A80"},
			{selSignPIN, "9000"}, {verifySign, "9000"}, {"0024018006" + "616263313233", "6A80"}}},
		{"change PIN any value quirk", Quirks{ChangeAcceptsAnyValue: true}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"},
			{"0024018003" + "353637", "9000"}}},
		{"change PIN bad P1", Quirks{}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {"0024008004" + "35363738", "6A86"}}},
		{"unknown INS", Quirks{}, []step{{"00CA5F5100", "6D00"}, {"00840000 08", "6D00"}, {"80FE0000", "6D00"}}},
		{"unknown CLA", Quirks{}, []step{{"B0A4040C0AD392F000260100000001", "6E00"}, {"FFCA000000", "6E00"}, {"0CA4040C0AD392F000260100000001", "6E00"}}},
		{"malformed", Quirks{}, []step{{"00A4", "6700"}, {"00A4040C05D392", "6700"}}},
		{"extended refused", Quirks{}, []step{{selJPKI, "9000"}, {"00A4020C020008", "9000"}, {"00B00000000100", "6700"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newTestCard(t, tt.q), tt.steps)
		})
	}
}

func TestReadCertificates(t *testing.T) {
	c := newTestCard(t, Quirks{})
	certs := c.Certificates()
	for _, tc := range []struct {
		fid  string
		want []byte
	}{{"000A", certs.AuthCert}, {"000B", certs.AuthCA}, {"0002", certs.SignCA}} {
		t.Run(tc.fid, func(t *testing.T) {
			require.Equal(t, "9000", tx(t, c, selJPKI))
			require.Equal(t, "9000", tx(t, c, "00A4020C02"+tc.fid))
			var got []byte
			for off := 0; ; off += 256 {
				resp := c.Process([]byte{0x00, 0xB0, byte(off >> 8), byte(off), 0x00})
				n := len(resp) - 2
				if resp[n] == 0x6B {
					break
				}
				require.Equal(t, []byte{0x90, 0x00}, resp[n:])
				require.LessOrEqual(t, n, 256)
				got = append(got, resp[:n]...)
			}
			assert.Len(t, got, 2048, "EF size")
			require.Equal(t, tc.want, got[:len(tc.want)])
			for _, b := range got[len(tc.want):] {
				require.Equal(t, byte(0xFF), b, "filler")
			}
			// OpenSC reads 4 header bytes: 30 82 LL LL.
			hdr := c.Process(h("00B0000004"))
			require.Len(t, hdr, 6)
			assert.Equal(t, len(tc.want), int(hdr[2])<<8|int(hdr[3])+4)
		})
	}
}

func TestSignPKCS1(t *testing.T) {
	c := newTestCard(t, Quirks{})
	digest := sha256.Sum256([]byte("hello"))
	di := pkcs1.DigestInfo(crypto.SHA256, digest[:])
	authCert, err := x509.ParseCertificate(c.Certificates().AuthCert)
	require.NoError(t, err)
	signCert, err := x509.ParseCertificate(c.Certificates().SignCert)
	require.NoError(t, err)
	for _, tc := range []struct {
		name           string
		selPIN, verify string
		selKey         string
		pub            *rsa.PublicKey
	}{
		{"auth", selAuthPIN, verifyAuth, selAuthKey, authCert.PublicKey.(*rsa.PublicKey)},
		{"sign", selSignPIN, verifySign, selSignKey, signCert.PublicKey.(*rsa.PublicKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(t, c, []step{{selJPKI, "9000"}, {tc.selPIN, "9000"}, {tc.verify, "9000"}, {tc.selKey, "9000"}})
			cmd := append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(di))}, di...)
			resp := c.Process(append(cmd, 0x00))
			require.Len(t, resp, 258)
			require.Equal(t, []byte{0x90, 0x00}, resp[256:])
			require.NoError(t, rsa.VerifyPKCS1v15(tc.pub, crypto.SHA256, digest[:], resp[:256]))
			// The PIN stays verified for more signatures.
			resp = c.Process(append(cmd, 0x00))
			require.Equal(t, []byte{0x90, 0x00}, resp[256:])
		})
	}
	assert.Equal(t, uint64(4), c.Stats().Signatures)
}

func TestSignSchemes(t *testing.T) {
	c := newTestCard(t, Quirks{SignSchemes: true})
	cert, err := x509.ParseCertificate(c.Certificates().AuthCert)
	require.NoError(t, err)
	pub := cert.PublicKey.(*rsa.PublicKey)
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"}})
	msg := []byte("message to sign")
	digest := sha256.Sum256(msg)
	sign := func(p1 byte, data []byte) []byte {
		resp := c.Process(append(append([]byte{0x80, 0x2A, p1, 0x80, byte(len(data))}, data...), 0x00))
		require.Len(t, resp, 258, "P1 %02X", p1)
		return resp[:256]
	}
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.Hash(0), digest[:], sign(0x01, msg)))
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sign(0x02, digest[:])))
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sign(0x03, msg)))
	pss := &rsa.PSSOptions{SaltLength: 32}
	require.NoError(t, rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sign(0x04, digest[:]), pss))
	require.NoError(t, rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sign(0x05, msg), pss))
	assert.Equal(t, "6700", tx(t, c, "802A02800401020304"+"00"), "P1 02 needs 32 bytes")
}

func TestResetClearsSecurityState(t *testing.T) {
	c := newTestCard(t, Quirks{})
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"}})
	c.Reset()
	// After reset no AP is selected: the EF select fails, and once the AP
	// is selected again the key refuses to sign.
	runSteps(t, c, []step{{selAuthKey, "6A82"}, {selJPKI, "9000"}, {selAuthKey, "9000"}, {"802A00800401020304" + "00", "6982"}})
	assert.Equal(t, uint64(1), c.Stats().Resets)
}

func TestStats(t *testing.T) {
	c := newTestCard(t, Quirks{})
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {query, "63C3"}, {verifyAuth, "9000"}, {"00CA000000", "6D00"}})
	s := c.Stats()
	assert.Equal(t, uint64(5), s.APDUs)
	assert.Equal(t, uint64(2), s.ByINS[0xA4])
	assert.Equal(t, uint64(2), s.ByINS[0x20])
	assert.Equal(t, uint64(1), s.Verifies)
	c.ResetStats()
	assert.Zero(t, c.Stats().APDUs)
}

func TestTraceRedacts(t *testing.T) {
	var buf strings.Builder
	c := newTestCard(t, Quirks{}, Options{Trace: &buf})
	runSteps(t, c, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}, {"0024018006" + "58595A393837", "9000"},
		{"00A4020C020001", "9000"}, {"00B0000010", "9000"}})
	out := buf.String()
	assert.Contains(t, out, "sim> 00 20 00 80 06 [6 bytes redacted]")
	assert.Contains(t, out, "sim> 00 24 01 80 06 [6 bytes redacted]")
	assert.Contains(t, out, "[16 bytes of the signature certificate redacted]")
	assert.NotContains(t, out, "414243313233")
	assert.NotContains(t, out, "58595A393837")
	assert.Contains(t, out, "sim> 00 A4 04 0C 0A D392F000260100000001")
}
