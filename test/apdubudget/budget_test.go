// Package apdubudget asserts, exactly, how many APDUs the module sends to
// the card in each benchmark scenario (test/bench/scenario), and that
// this never exceeds the theoretical minimum + 1. The counts come from
// the simulator's own counters, with the module's Go core in-process, so
// the test is deterministic; test/bench.sh measures the same scenarios
// through the built .so and pcscd, and against OpenSC.
package apdubudget

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/test/bench/scenario"
)

// reads is the number of READ BINARY a certificate of n bytes needs:
// short APDUs return at most 256 bytes (the fact sheet advises against
// extended length on this card).
func reads(n int) int { return (n + 255) / 256 }

// Minimum returns the fewest APDUs scenario name can cost on card,
// given what the module must learn or do, with the reasoning. Building
// blocks:
//
//   - detect (3): SELECT JPKI AP, SELECT EF 0006, READ BINARY of the
//     token name. A fresh process knows nothing of the card's selection,
//     and the name tells a My Number Card from an old Juki card, which
//     has the same AID.
//   - identity (2): SELECT EF 000A + one READ BINARY: the serial number
//     must differ between cards, and the start of the authentication
//     certificate (serial number, issuer) is the only public per-card
//     data.
//   - tries (2 per PIN): SELECT PIN EF + empty VERIFY for the
//     CKF_USER_PIN_COUNT_LOW/FINAL_TRY/LOCKED flags.
//   - sign-cert probe (2): SELECT EF 0001 + READ: a card without a
//     signature certificate (holder under 15, face-authentication card)
//     must show its sign token as unusable before login.
//   - certificate (1 + reads(len)): SELECT + READ BINARY per 256 bytes.
//   - login (1): VERIFY, its PIN EF already selected by the tries query,
//     or (2) SELECT PIN EF + VERIFY when nothing selected it.
//   - sign-cert check (2): after the password, SELECT EF 0001 + READ, to
//     learn whether the card holds a signature certificate (the EF may
//     hold only filler).
//   - sign (1 + n): SELECT key EF once + one SIGN per signature.
//   - logout (1): SELECT another applet when the last session closes, so
//     no verified PIN is left on the card for the next program.
func Minimum(name string, c sim.Certs) (int, string) {
	switch name {
	case "a-list":
		return 3 + 2 + 2 + 2 + 2, "detect 3 + identity 2 + auth tries 2 + sign-cert probe 2 + sign tries 2"
	case "b-objects":
		a, ca := 1+reads(len(c.AuthCert)), 1+reads(len(c.AuthCA))
		return 3 + a + ca, fmt.Sprintf("detect 3 + auth certificate %d + auth CA certificate %d (the sign token shows nothing before login)", a, ca)
	case "c-sign-auth":
		return 3 + 2 + 2 + 1 + 2 + 1, "detect 3 + identity 2 (token info) + tries 2 (token info; EF 0018 stays selected) + VERIFY 1 + SELECT key + SIGN 2 + logout 1"
	case "d-sign-sign":
		return 3 + 2 + 2 + 2 + 1 + 2 + 2 + 1, "detect 3 + identity 2 + sign-cert probe 2 + tries 2 + VERIFY 1 + sign-cert check 2 + SELECT key + SIGN 2 + logout 1"
	case "e-sign10":
		return 3 + 2 + 1 + 10 + 1, "detect 3 + SELECT PIN EF + VERIFY 2 + SELECT key 1 + 10 SIGN + logout 1"
	}
	return 0, ""
}

// Budget is the exact APDU count the module has in each scenario.
func Budget(name string, c sim.Certs) int {
	n, _ := Minimum(name, c)
	return n // every scenario is at its minimum
}

var base *sim.Card

func card(t *testing.T) *sim.Card {
	t.Helper()
	if base == nil {
		var err error
		base, err = sim.New(sim.Options{})
		require.NoError(t, err)
	}
	c, err := base.Clone()
	require.NoError(t, err)
	return c
}

// run runs one scenario in a fresh module on card and returns the APDUs
// and signatures it cost.
func run(t *testing.T, card *sim.Card, sc scenario.Scenario) sim.Stats {
	t.Helper()
	r := sim.NewReader("Budget Reader 00 00")
	r.Insert(card)
	mod := &scenario.InProcess{Open: func() (cardos.Context, error) { return sim.NewContext(r), nil }}
	before := card.Stats()
	require.NoError(t, sc.Run(mod, scenario.Params{AuthPIN: sim.DefaultAuthPIN, SignPIN: sim.DefaultSignPIN}))
	after := card.Stats()
	d := sim.Stats{APDUs: after.APDUs - before.APDUs, Signatures: after.Signatures - before.Signatures, Verifies: after.Verifies - before.Verifies, ByINS: map[byte]uint64{}}
	for k, v := range after.ByINS {
		if v != before.ByINS[k] {
			d.ByINS[k] = v - before.ByINS[k]
		}
	}
	return d
}

func TestAPDUBudget(t *testing.T) {
	c := card(t)
	certs := c.Certificates()
	for _, sc := range scenario.All {
		t.Run(sc.Name, func(t *testing.T) {
			for _, fresh := range []bool{true, false} {
				// The card state left by another program (JPKI selected,
				// or another applet after a logout) changes nothing: the
				// module assumes nothing about it.
				cd := c
				if fresh {
					cd = card(t)
				}
				got := run(t, cd, sc)
				min, why := Minimum(sc.Name, certs)
				t.Logf("%s: %d APDUs %v (minimum %d: %s)", sc.Name, got.APDUs, byINS(got.ByINS), min, why)
				assert.Equal(t, uint64(Budget(sc.Name, certs)), got.APDUs, "APDUs of %s", sc.Name)
				assert.LessOrEqual(t, got.APDUs, uint64(min+1), "never more than the minimum + 1")
				assert.Equal(t, uint64(sc.Signatures), got.Signatures, "signatures")
				wantVerifies := uint64(0)
				if sc.Signatures > 0 {
					wantVerifies = 1
				}
				assert.Equal(t, wantVerifies, got.Verifies, "PIN VERIFY commands")
			}
		})
	}
	assert.Equal(t, sim.AuthMaxTries, c.TriesLeft(1), "no try spent")
	assert.Equal(t, sim.SignMaxTries, c.TriesLeft(2), "no try spent")
}

// Listing the objects after login costs no READ BINARY twice: the
// identity read becomes the first chunk of the certificate.
func TestHeaderIsReused(t *testing.T) {
	c := card(t)
	r := sim.NewReader("Budget Reader 00 00")
	r.Insert(c)
	mod := &scenario.InProcess{Open: func() (cardos.Context, error) { return sim.NewContext(r), nil }}
	require.NoError(t, mod.Initialize())
	defer mod.Finalize()
	slots, err := mod.SlotList()
	require.NoError(t, err)
	before := c.Stats().ByINS[0xB0]
	_, err = mod.TokenInfo(slots[0]) // identity: one READ
	require.NoError(t, err)
	s, err := mod.OpenSession(slots[0])
	require.NoError(t, err)
	objs, err := mod.Find(s, nil)
	require.NoError(t, err)
	require.Len(t, objs, 3, "auth certificate, public key, CA certificate")
	for _, o := range objs {
		_, err := mod.Attr(s, o, scenario.CKA_SUBJECT)
		require.NoError(t, err)
	}
	certs := c.Certificates()
	assert.Equal(t, uint64(reads(len(certs.AuthCert))+reads(len(certs.AuthCA))), c.Stats().ByINS[0xB0]-before)
	// Asked again, nothing more is read.
	before = c.Stats().APDUs
	_, err = mod.Find(s, nil)
	require.NoError(t, err)
	for _, o := range objs {
		_, err := mod.Attr(s, o, scenario.CKA_SUBJECT)
		require.NoError(t, err)
	}
	assert.Equal(t, before, c.Stats().APDUs)
}

// A key found by its class and ID (the usual look-up before signing)
// needs no certificate at all; its modulus does.
func TestKeyLookupReadsNoCertificate(t *testing.T) {
	c := card(t)
	r := sim.NewReader("Budget Reader 00 00")
	r.Insert(c)
	mod := &scenario.InProcess{Open: func() (cardos.Context, error) { return sim.NewContext(r), nil }}
	require.NoError(t, mod.Initialize())
	defer mod.Finalize()
	slots, err := mod.SlotList()
	require.NoError(t, err)
	s, err := mod.OpenSession(slots[0])
	require.NoError(t, err)
	require.NoError(t, mod.Login(s, sim.DefaultAuthPIN))
	before := c.Stats().ByINS[0xB0]
	keys, err := mod.Find(s, []scenario.Attr{{Type: scenario.CKA_CLASS, Value: []byte{3, 0, 0, 0, 0, 0, 0, 0}}, {Type: scenario.CKA_ID, Value: []byte{1}}})
	require.NoError(t, err)
	require.Len(t, keys, 1)
	_, err = mod.Attr(s, keys[0], scenario.CKA_ALWAYS_AUTHENTICATE)
	require.NoError(t, err)
	assert.Equal(t, before, c.Stats().ByINS[0xB0], "no READ BINARY for a static look-up")
	mod1, err := mod.Attr(s, keys[0], scenario.CKA_MODULUS)
	require.NoError(t, err)
	assert.Len(t, mod1, 256)
	assert.Equal(t, uint64(reads(len(c.Certificates().AuthCert))), c.Stats().ByINS[0xB0]-before, "the modulus needs the whole certificate, read once")
}

func byINS(m map[byte]uint64) string {
	names := map[byte]string{0xA4: "SELECT", 0xB0: "READ", 0x20: "VERIFY", 0x2A: "SIGN"}
	s := ""
	for _, ins := range []byte{0xA4, 0xB0, 0x20, 0x2A} {
		if m[ins] > 0 {
			s += fmt.Sprintf(" %s=%d", names[ins], m[ins])
		}
	}
	for ins, n := range m {
		if names[ins] == "" {
			s += fmt.Sprintf(" %02X=%d", ins, n)
		}
	}
	return "[" + s + " ]"
}
