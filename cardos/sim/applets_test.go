package sim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	selVisual = "00A4040C0AD3921000310001010402"
	selCommon = "00A4040C0AD3921000310001010100"
	selJuki   = "00A4040C0AD3921000310001010401"
	selEF0011 = "00A4020C020011"
	selEF0012 = "00A4020C020012"
	selEF0013 = "00A4020C020013"
	selEF0014 = "00A4020C020014"
	selEF0015 = "00A4020C020015"
	selEF001C = "00A4020C02001C"
	selEF0001 = "00A4020C020001"
	selEF0002 = "00A4020C020002"
	selEF0005 = "00A4020C020005"
	readHdr   = "00B0000003"
)

// vfy is a VERIFY of the current EF with value as ASCII.
func vfy(value string) string {
	return "00200080" + hex.EncodeToString([]byte{byte(len(value))}) + hex.EncodeToString([]byte(value))
}

// The default card: holder born 1985-04-12 (昭和60 → "600412"), expiry
// year from the state, security code 0000.
func codeB(t *testing.T) string {
	st := baseState(t)
	return "600412" + st.Other.CardExpiry[:4] + "0000"
}

func TestOtherAppletAPDUs(t *testing.T) {
	myNumber := fictionalMyNumber
	cb := codeB(t)
	tests := []struct {
		name  string
		q     Quirks
		steps []step
	}{
		// The retry query answers for each of the five PINs/照合番号.
		{"text AP tries", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {query, "63C3"}, {selEF0014, "9000"}, {query, "63CA"},
			{selEF0015, "9000"}, {query, "63CA"}}},
		{"text AP EF 0012 blocked at issue", Quirks{}, []step{{selText, "9000"}, {selEF0012, "9000"}, {query, "63C0"}, {vfy("1234"), "6984"}}},
		{"visual AP tries", Quirks{}, []step{{selVisual, "9000"}, {selEF0011, "9000"}, {query, "63CA"}, {selEF0012, "9000"}, {query, "63CA"},
			{selEF0013, "9000"}, {query, "63CA"}}},
		{"common and juki PIN tries", Quirks{}, []step{{selCommon, "9000"}, {selEF001C, "9000"}, {query, "63C3"}, {selJuki, "9000"}, {selEF001C, "9000"}, {query, "63C3"}}},
		{"code A tries quirk", Quirks{CodeAMaxTries: 5}, []step{{selText, "9000"}, {selEF0014, "9000"}, {query, "63C5"}, {selVisual, "9000"}, {selEF0013, "9000"}, {query, "63C5"}}},
		{"ISD has no EF", Quirks{}, []step{{selISD, "9000"}, {selEF0011, "6A82"}, {query, "6986"}, {"00B0000004", "6986"}}},
		{"unknown EF in text AP", Quirks{}, []step{{selText, "9000"}, {"00A4020C020009", "6A82"}, {"00A4020C020018", "6A82"}}},
		{"JPKI EF not in visual AP", Quirks{}, []step{{selVisual, "9000"}, {"00A4020C02001B", "6A82"}}},
		{"text PIN opens my number and attributes", Quirks{}, []step{{selText, "9000"}, {selEF0001, "9000"}, {readHdr, "6982"},
			{selEF0011, "9000"}, {vfy("1234"), "9000"}, {query, "63C3"},
			{selEF0001, "9000"}, {"00B0000011", "=FF100C" + strings.ToUpper(hex.EncodeToString([]byte(myNumber))) + "FFFF9000"},
			{selEF0002, "9000"}, {readHdr, "9000"}}},
		{"code A opens my number not attributes", Quirks{}, []step{{selText, "9000"}, {selEF0014, "9000"}, {vfy(myNumber), "9000"},
			{selEF0001, "9000"}, {readHdr, "=FF100C9000"}, {selEF0002, "9000"}, {readHdr, "6982"}}},
		{"code B opens attributes not my number", Quirks{}, []step{{selText, "9000"}, {selEF0015, "9000"}, {vfy(cb), "9000"},
			{selEF0002, "9000"}, {"00B0000002", "=FF209000"}, {selEF0001, "9000"}, {readHdr, "6982"}}},
		{"text PIN lockout", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("9999"), "63C2"}, {vfy("9999"), "63C1"},
			{vfy("9999"), "63C0"}, {vfy("1234"), "6984"}, {query, "63C0"}, {selEF0001, "9000"}, {readHdr, "6982"}}},
		{"blocked query quirk 6984", Quirks{BlockedQuerySW: 0x6984}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("9999"), "63C2"},
			{vfy("9999"), "63C1"}, {vfy("9999"), "63C0"}, {query, "6984"}}},
		{"text PIN counter restored on success", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("9999"), "63C2"},
			{vfy("1234"), "9000"}, {query, "63C3"}}},
		{"code B lockout after 10", Quirks{}, []step{{selVisual, "9000"}, {selEF0012, "9000"},
			{vfy("0"), "63C9"}, {vfy("0"), "63C8"}, {vfy("0"), "63C7"}, {vfy("0"), "63C6"}, {vfy("0"), "63C5"},
			{vfy("0"), "63C4"}, {vfy("0"), "63C3"}, {vfy("0"), "63C2"}, {vfy("0"), "63C1"}, {vfy("0"), "63C0"}, {vfy(cb), "6984"}}},
		{"visual counters are not the text AP's", Quirks{}, []step{{selVisual, "9000"}, {selEF0012, "9000"}, {vfy("0"), "63C9"},
			{selText, "9000"}, {selEF0015, "9000"}, {query, "63CA"}}},
		{"visual birth key opens age record", Quirks{}, []step{{selVisual, "9000"}, {selEF0001, "9000"}, {readHdr, "6982"},
			{selEF0011, "9000"}, {vfy("600412"), "9000"}, {selEF0001, "9000"}, {"00B0000010", "=FF1082021EDF110831393835303431329000"},
			{selEF0002, "9000"}, {readHdr, "6982"}}},
		{"visual code B opens face not my number image", Quirks{}, []step{{selVisual, "9000"}, {selEF0012, "9000"}, {vfy(cb), "9000"},
			{selEF0002, "9000"}, {"00B0000002", "=FF209000"}, {selEF0005, "9000"}, {readHdr, "6982"}}},
		{"visual code A opens face and my number image", Quirks{}, []step{{selVisual, "9000"}, {selEF0013, "9000"}, {vfy(myNumber), "9000"},
			{selEF0002, "9000"}, {"00B0000002", "=FF209000"}, {selEF0005, "9000"}, {"00B0000002", "=FF409000"}}},
		{"leaving an applet clears its state", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("1234"), "9000"},
			{selJPKI, "9000"}, {selText, "9000"}, {selEF0001, "9000"}, {readHdr, "6982"}}},
		{"re-selecting keeps it by default", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("1234"), "9000"},
			{selText, "9000"}, {selEF0001, "9000"}, {readHdr, "9000"}}},
		{"re-selecting clears it with the quirk", Quirks{ReselectClearsPINs: true}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("1234"), "9000"},
			{selText, "9000"}, {selEF0001, "9000"}, {readHdr, "6982"}}},
		{"text AP PIN does not open JPKI", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("1234"), "9000"}, {selJPKI, "9000"},
			{selAuthKey, "9000"}, {"802A00800401020304" + "00", "6982"}}},
		{"selecting the text AP logs the JPKI AP out", Quirks{}, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"},
			{selText, "9000"}, {selJPKI, "9000"}, {selEF0001, "9000"}, {"00B0000004", "6982"}}},
		{"VERIFY SFI form", Quirks{}, []step{{selText, "9000"}, {"00200091", "63C3"}, {"0020009104" + "31323334", "9000"}, {"00200099", "6A82"}}},
		{"VERIFY on a data EF", Quirks{}, []step{{selText, "9000"}, {selEF0001, "9000"}, {vfy("1234"), "6981"}}},
		{"READ on a key EF", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {readHdr, "6981"}}},
		{"READ past the end", Quirks{}, []step{{selText, "9000"}, {selEF0014, "9000"}, {vfy(myNumber), "9000"}, {selEF0001, "9000"},
			{"00B0002000", "6B00"}, {"00B0001F00", "=FF9000"}}},
		{"READ BINARY SFI form", Quirks{}, []step{{selText, "9000"}, {selEF0014, "9000"}, {vfy(myNumber), "9000"}, {"00B0810003", "=FF100C9000"}}},
		{"common AP card info record", Quirks{}, []step{{selCommon, "9000"}, {"00B2010C00", "9000"}, {selEF0001, "9000"}, {"00B2010400", "9000"},
			{"00B2020400", "6A83"}, {"00B0000004", "6981"}}},
		{"READ RECORD in JPKI AP", Quirks{}, []step{{selJPKI, "9000"}, {"00B2010400", "6986"}, {"00A4020C020006", "9000"}, {"00B2010400", "6981"}}},
		{"change text PIN", Quirks{}, []step{{selText, "9000"}, {selEF0011, "9000"}, {"0024018004" + "35363738", "6982"}, {vfy("1234"), "9000"},
			{"0024018003" + "353637", "6A80"}, {"0024018004" + "35363738", "9000"}, {vfy("1234"), "63C2"}, {vfy("5678"), "9000"},
			{selCommon, "9000"}, {selEF001C, "9000"}, {vfy("1234"), "9000"}}},
		{"change common PIN with CHANGE KEY", Quirks{}, []step{{selCommon, "9000"}, {selEF001C, "9000"}, {vfy("1234"), "9000"},
			{"0024018004" + "35363738", "6985"}, {"8032008004" + "35363738", "9000"}, {vfy("5678"), "9000"}}},
		{"照合番号 cannot be changed", Quirks{}, []step{{selText, "9000"}, {selEF0014, "9000"}, {vfy(myNumber), "9000"}, {"0024018004" + "35363738", "6985"}}},
		{"unknown INS in another applet", Quirks{}, []step{{selText, "9000"}, {"802A00800401020304" + "00", "6D00"}, {"00CA000000", "6D00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newTestCard(t, tt.q), tt.steps)
		})
	}
}

// The fictional 個人番号 must fail the check digit, so that it is nobody's.
func TestMyNumberIsNobodys(t *testing.T) {
	// Known good examples of the algorithm (check digit of the 11 digits).
	assert.Equal(t, 8, myNumberCheckDigit("12345678901"))
	assert.Equal(t, 0, myNumberCheckDigit("00000000000"))
	n := baseState(t).Other.MyNumber
	require.Len(t, n, 12)
	assert.NotEqual(t, int(n[11]-'0'), myNumberCheckDigit(n[:11]), "the simulator's My Number must have a wrong check digit")
}

func TestWareki(t *testing.T) {
	for _, tc := range []struct{ date, want string }{
		{"1985-04-12", "600412"}, {"1989-01-07", "640107"}, {"1989-01-08", "010108"},
		{"2019-04-30", "310430"}, {"2019-05-01", "010501"}, {"1926-12-25", "011225"}, {"1920-01-01", "090101"},
	} {
		d, err := time.Parse(time.DateOnly, tc.date)
		require.NoError(t, err)
		assert.Equal(t, tc.want, warekiYYMMDD(d), tc.date)
	}
}

// The face EF holds the holder of the sign certificate, and a PNG face
// placeholder at the place MYNA-RS reads the photograph (7th object).
func TestVisualFaceContent(t *testing.T) {
	st := baseState(t)
	face := buildOtherEFs(st)[otherKey{appVisual, 0x0002}]
	require.Equal(t, []byte{0xFF, 0x20, 0x82}, face[:3])
	n := int(face[3])<<8 | int(face[4])
	objs := splitTLVs(t, face[5:5+n])
	require.Len(t, objs, 10)
	assert.Equal(t, "19850412", string(objs[1]))
	assert.Equal(t, "2", string(objs[2]))
	_, err := png.Decode(bytes.NewReader(objs[6]))
	require.NoError(t, err, "photograph")
	attrs := buildOtherEFs(st)[otherKey{appText, 0x0002}]
	objs = splitTLVs(t, attrs[3:3+int(attrs[2])])
	assert.Equal(t, defaultName, string(objs[1]))
	assert.Equal(t, defaultAddress, string(objs[2]))
	// The offset table points at each object.
	table := objs[0]
	for i := 0; i < 4; i++ {
		off := int(table[2*i])<<8 | int(table[2*i+1])
		assert.Equal(t, byte(0xDF), attrs[off], "offset %d", i)
		assert.Equal(t, byte(0x22+i), attrs[off+1], "offset %d", i)
	}
}

// splitTLVs returns the values of consecutive two-byte-tag BER objects.
func splitTLVs(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 3)
		n, hdr := int(b[2]), 3
		switch b[2] {
		case 0x81:
			n, hdr = int(b[3]), 4
		case 0x82:
			n, hdr = int(b[3])<<8|int(b[4]), 5
		}
		out = append(out, b[hdr:hdr+n])
		b = b[hdr+n:]
	}
	return out
}

// Counters of the other applets are persisted, shared across processes
// and restored by AdminReset.
func TestOtherLockoutPersists(t *testing.T) {
	path := newTestFile(t, nil)
	c, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, c, []step{{selText, "9000"}, {selEF0011, "9000"}, {vfy("9999"), "63C2"}, {vfy("9999"), "63C1"}, {vfy("9999"), "63C0"},
		{selVisual, "9000"}, {selEF0012, "9000"}, {vfy("0"), "63C9"}})
	c2, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, c2, []step{{selText, "9000"}, {selEF0011, "9000"}, {query, "63C0"}, {vfy("1234"), "6984"},
		{selVisual, "9000"}, {selEF0012, "9000"}, {query, "63C9"}})
	tries := map[string]int{}
	for _, k := range c2.OtherTries() {
		tries[k.Name] = k.TriesLeft
	}
	assert.Equal(t, map[string]int{KeyTextPIN: 0, KeyText0012: 0, KeyTextCodeA: 10, KeyTextCodeB: 10, KeyVisualBirth: 10,
		KeyVisualCodeB: 9, KeyVisualCodeA: 10, KeyCommonPIN: 3, KeyJukiPIN: 3}, tries)
	require.NoError(t, c2.AdminReset())
	runSteps(t, c, []step{{selText, "9000"}, {selEF0011, "9000"}, {query, "63C3"}, {vfy("1234"), "9000"}, {selEF0012, "9000"}, {query, "63C0"}})
}

// A state file written before the other applets were modelled still
// opens, with the defaults a new card has, and gains them on its next
// write.
func TestOldStateFileGetsOtherApplets(t *testing.T) {
	path := newTestFile(t, func(s *state) { s.Other = nil })
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "other_applets")
	c, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, c, []step{{selText, "9000"}, {selEF0011, "9000"}, {query, "63C3"}, {vfy("0000"), "63C2"}, {selEF0014, "9000"}, {vfy(fictionalMyNumber), "9000"}})
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	var st state
	require.NoError(t, json.Unmarshal(raw, &st))
	require.NotNil(t, st.Other)
	assert.Equal(t, 2, st.Other.Tries[KeyTextPIN])
	assert.Equal(t, fictionalMyNumber, st.Other.MyNumber)
}

func TestFaceAuthHasNoOtherPINs(t *testing.T) {
	st := baseState(t)
	st.Profile.FaceAuth = true
	st.resetOtherTries()
	c, err := newCard(st, Options{}, nil)
	require.NoError(t, err)
	runSteps(t, c, []step{{selText, "9000"}, {selEF0011, "9000"}, {query, "63C0"}, {selEF0015, "9000"}, {query, "63CA"}})
	require.NoError(t, c.AdminReset())
	runSteps(t, c, []step{{selText, "9000"}, {selEF0011, "9000"}, {query, "63C0"}})
}

// Stats say which applets were selected and how many commands reached
// another applet; the trace redacts the values and the personal EFs.
func TestOtherStatsAndTrace(t *testing.T) {
	var buf strings.Builder
	c := newTestCard(t, Quirks{}, Options{Trace: &buf})
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {selISD, "9000"}, {selText, "9000"}, {selEF0014, "9000"},
		{vfy(fictionalMyNumber), "9000"}, {selEF0001, "9000"}, {"00B0000011", "9000"}, {selJPKI, "9000"}, {"00A4040C07A0000000031010", "6A82"}})
	s := c.Stats()
	assert.Equal(t, map[string]uint64{"jpki": 2, "isd": 1, "text": 1}, s.Selects)
	assert.Equal(t, uint64(4), s.OtherApplet, "EF SELECT, VERIFY, EF SELECT, READ in the text AP")
	out := buf.String()
	assert.NotContains(t, out, hex.EncodeToString([]byte(fictionalMyNumber)))
	assert.NotContains(t, out, strings.ToUpper(hex.EncodeToString([]byte(fictionalMyNumber))))
	assert.Contains(t, out, "[17 bytes of text EF 0001 redacted]")
}
