package sim

import (
	"crypto"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

const (
	selToken    = "00A4020C020006"
	selAuthCert = "00A4020C02000A"
	selAuthCA   = "00A4020C02000B"
	readToken   = "00B0000020"
	endCmd      = "80FC0000"
)

// tokenEF is the answer to a 32-byte read of EF 0006 naming name.
func tokenEF(name string) string {
	b := []byte("                                ")
	copy(b, name)
	return "=" + strings.ToUpper(hex.EncodeToString(b)) + "9000"
}

func TestDevices(t *testing.T) {
	android, iphone := Options{Device: DeviceAndroid}, Options{Device: DeviceIPhone}
	// read answers of the four certificate EFs, without and with both PINs.
	certs := func(auth, authCA, signCA, sign string) []step {
		return []step{{selJPKI, "9000"}, {selAuthCert, "9000"}, {readHdr, auth}, {selAuthCA, "9000"}, {readHdr, authCA},
			{selEF0002, "9000"}, {readHdr, signCA}, {selEF0001, "9000"}, {readHdr, sign},
			{selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"},
			{selAuthCert, "9000"}, {readHdr, "9000"}, {selAuthCA, "9000"}, {readHdr, "9000"},
			{selEF0002, "9000"}, {readHdr, "9000"}, {selEF0001, "9000"}, {readHdr, "9000"}}
	}
	signAPDU := fmt.Sprintf("802A008033%X00", pkcs1.DigestInfo(crypto.SHA256, make([]byte, 32)))
	signed := []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"}, {selAuthKey, "9000"}}
	signs := func(steps ...step) []step {
		return append(append(append([]step(nil), signed...), steps...), step{signAPDU, "9000"})
	}
	refused := func(steps ...step) []step {
		return append(append(append([]step(nil), signed...), steps...), step{signAPDU, "6982"})
	}
	tests := []struct {
		name  string
		opt   Options
		q     Quirks
		steps []step
	}{
		{"card token", Options{}, Quirks{}, []step{{selJPKI, "9000"}, {selToken, "9000"}, {readToken, tokenEF(jpki.TokenCard)}}},
		{"android token", android, Quirks{}, []step{{selJPKI, "9000"}, {selToken, "9000"}, {readToken, tokenEF(jpki.TokenAndroid)}}},
		{"iphone token", iphone, Quirks{}, []step{{selJPKI, "9000"}, {selToken, "9000"}, {readToken, tokenEF(jpki.TokenIPhone)}}},
		{"card certificates", Options{}, Quirks{}, certs("9000", "9000", "9000", "6982")},
		{"android certificates", android, Quirks{}, certs("6982", "9000", "9000", "6982")},
		{"iphone certificates", iphone, Quirks{}, certs("6982", "9000", "9000", "6982")},
		{"iphone auth certificate free", iphone, Quirks{IPhoneAuthCertFree: true}, certs("9000", "9000", "9000", "6982")},
		{"android auth certificate free quirk is the iPhone's", android, Quirks{IPhoneAuthCertFree: true}, certs("6982", "9000", "9000", "6982")},
		{"phone sign certificate free", android, Quirks{PhoneSignCertFree: true}, certs("6982", "9000", "9000", "9000")},
		{"phone CAs behind PIN", iphone, Quirks{PhoneCAsBehindPIN: true}, certs("6982", "6982", "6982", "6982")},
		{"phone quirks do not change the card", Options{}, Quirks{PhoneSignCertFree: true, PhoneCAsBehindPIN: true, PhoneRoutesAllAIDs: false},
			append(certs("9000", "9000", "9000", "6982"), step{selISD, "9000"})},
		{"CA needs its own key's PIN", android, Quirks{PhoneCAsBehindPIN: true}, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "9000"},
			{selAuthCA, "9000"}, {readHdr, "9000"}, {selEF0002, "9000"}, {readHdr, "6982"}}},
		{"phone routes only the JPKI AID", android, Quirks{}, signs(step{selISD, "6A82"}, step{selText, "6A82"}, step{selVisual, "6A82"},
			step{selCommon, "6A82"}, step{selJuki, "6A82"})},
		{"phone routing every AID leaves as the card", iphone, Quirks{PhoneRoutesAllAIDs: true}, refused(step{selISD, "9000"}, step{selJPKI, "9000"}, step{selAuthKey, "9000"})},
		{"card end command refused", Options{}, Quirks{}, []step{{endCmd, "6700"}, {selJPKI, "9000"}, {endCmd, "6700"}, {selText, "9000"}, {endCmd, "6700"}}},
		{"android end command refused", android, Quirks{PhoneEnd: EndForgets}, signs(step{endCmd, "6700"})},
		{"iphone end command keeps", iphone, Quirks{}, signs(step{endCmd, "9000"})},
		{"iphone end command P1 P2", iphone, Quirks{}, []step{{"80FC0100", "6A86"}}},
		{"iphone end command forgets", iphone, Quirks{PhoneEnd: EndForgets}, refused(step{endCmd, "9000"}, step{selAuthKey, "6A82"}, step{selJPKI, "9000"}, step{selAuthKey, "9000"})},
		{"iphone end command removes", iphone, Quirks{PhoneEnd: EndRemoves}, append(signs(), step{endCmd, "9000"}, step{selJPKI, ""})},
		{"extended APDUs refused on a phone", android, Quirks{}, []step{{selJPKI, "9000"}, {selAuthCert, "9000"}, {"00B00000000100", "6700"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newTestCard(t, tt.q, tt.opt), tt.steps)
		})
	}
}

func TestParseDevice(t *testing.T) {
	for _, d := range Devices {
		got, err := ParseDevice(d.String())
		require.NoError(t, err)
		assert.Equal(t, d, got)
	}
	d, err := ParseDevice("")
	assert.NoError(t, err)
	assert.Equal(t, DeviceCard, d)
	_, err = ParseDevice("pixel")
	assert.Error(t, err)
}

// A phone keeps its device when cloned, and the state file does not
// carry it.
func TestDeviceIsNotStored(t *testing.T) {
	c := newTestCard(t, Quirks{}, Options{Device: DeviceIPhone})
	clone, err := c.Clone()
	require.NoError(t, err)
	runSteps(t, clone, []step{{selJPKI, "9000"}, {selToken, "9000"}, {readToken, tokenEF(jpki.TokenIPhone)}})
	path := newTestFile(t, nil)
	require.NoError(t, c.SaveAs(path))
	card, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, card, []step{{selJPKI, "9000"}, {selToken, "9000"}, {readToken, tokenEF(jpki.TokenCard)}})
}
