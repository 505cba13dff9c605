package jpki_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// ReadCertificateRest reads only what the head does not hold, and each
// read asks for as much as a short APDU carries.
func TestReadCertificateRestCountsAPDUs(t *testing.T) {
	card := simCard(t, false)
	want := card.Certificates().AuthCert
	require.Greater(t, len(want), 512, "the test needs a certificate of several chunks")
	chunks := uint64((len(want) + 255) / 256)
	cl, _ := connect(t, card)
	require.NoError(t, cl.Begin()) // selections are remembered inside one transaction only
	defer cl.End(false)
	require.NoError(t, cl.Select())

	for _, tc := range []struct {
		name      string
		head      int    // bytes of head passed (-1: header read first)
		selected  bool   // EF 000A already selected before the call
		wantReads uint64 // READ BINARY of the call
		wantSel   uint64 // SELECT of the call
	}{
		{"no head", 0, false, chunks, 1},
		{"no head, EF selected", 0, true, chunks, 0},
		{"256-byte head, EF selected", 256, true, chunks - 1, 0},
		{"256-byte head, other EF selected", 256, false, chunks - 1, 1},
		{"whole certificate as head", len(want), false, 0, 0},
		{"short head (tag only) is read again", 1, false, chunks, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.selected {
				_, err := cl.ReadCertificateHeader(cardos.AuthCert, 4)
				require.NoError(t, err)
			} else {
				_, err := cl.TokenName() // selects EF 0006
				require.NoError(t, err)
			}
			head := append([]byte(nil), want[:tc.head]...)
			before := card.Stats()
			got, err := cl.ReadCertificateRest(cardos.AuthCert, head)
			require.NoError(t, err)
			after := card.Stats()
			assert.Equal(t, want, got)
			assert.Equal(t, tc.wantReads, after.ByINS[0xB0]-before.ByINS[0xB0], "READ BINARY")
			assert.Equal(t, tc.wantSel, after.ByINS[0xA4]-before.ByINS[0xA4], "SELECT")
		})
	}
}

// A head from ReadCertificateHeader completes to the same certificate,
// and the header read plus the rest cost what one full read costs.
func TestHeaderThenRestEqualsFullRead(t *testing.T) {
	card := simCard(t, false)
	cl, _ := connect(t, card)
	require.NoError(t, cl.Begin())
	defer cl.End(false)
	require.NoError(t, cl.Select())
	for _, id := range []cardos.CertID{cardos.AuthCert, cardos.AuthCACert, cardos.SignCACert} {
		before := card.Stats().APDUs
		full, err := cl.ReadCertificate(id)
		require.NoError(t, err)
		fullCost := card.Stats().APDUs - before

		_, err = cl.TokenName()
		require.NoError(t, err)
		before = card.Stats().APDUs
		head, err := cl.ReadCertificateHeader(id, 256)
		require.NoError(t, err)
		got, err := cl.ReadCertificateRest(id, head)
		require.NoError(t, err)
		assert.Equal(t, full, got, id.String())
		assert.Equal(t, fullCost, card.Stats().APDUs-before, "%v: header + rest cost one full read", id)
	}
}

// Errors of the first chunk are those of ReadCertificate.
func TestReadCertificateRestErrors(t *testing.T) {
	cl, _ := connect(t, simCard(t, false))
	_, err := cl.ReadCertificateRest(cardos.SignCert, nil)
	assert.ErrorIs(t, err, cardos.ErrPINRequired)
	_, err = cl.ReadCertificateRest(cardos.CertID(9), []byte{0x30})
	assert.Error(t, err)
	// A head without a DER length is not trusted: the card is asked.
	got, err := cl.ReadCertificateRest(cardos.AuthCert, []byte{0xFF, 0xFF, 0xFF, 0xFF})
	require.NoError(t, err)
	assert.Equal(t, byte(0x30), got[0])
}
