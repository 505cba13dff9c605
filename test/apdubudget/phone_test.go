package apdubudget

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/test/bench/scenario"
)

// Reasons a smartphone credential's count differs from the card's.
const (
	// The probe's identity READ is sent and refused (6982): same APDUs
	// as the card, but a phone has no identity to prove.
	probeWhy = "identity READ at the probe refused 6982 (auth certificate behind the PIN), same APDUs as the card"
	// Before login the auth token shows no certificate.
	noAuthCertWhy = "no auth certificate before login (behind the PIN): no transaction, SELECT EF 000A or READ of the rest of it (1 + 1 + 6)"
	// readAtLogin costs SELECT EF 000A + READ BINARY in the login's
	// transaction, the first time the auth PIN is verified.
	readAtLogin = "auth certificate read at the login (+2)"
	// A phone refuses SELECT of the ISD and of the text AP (6A82): its
	// first leave is those two SELECTs and a card reset, which needs no
	// proof, and every later leave of the insertion a reset alone,
	// where the card's leave is SELECT ISD + SELECT JPKI and a proof of 2
	// (SELECT key EF + SIGN, or SELECT EF 0001 + READ): once per PIN in
	// scope operation, at the logout in scope session (scenario.Minimum).
	leaveIsReset = "first leave = 2 refused SELECTs + reset, no leave proof (−2)"
	laterResets  = "every later leave a reset alone (−2 each)"
)

// phoneBudget is the exact APDU count of each scenario on a smartphone
// credential with the simulator's default quirks (Android and iPhone
// answer alike), per PIN scope, and the card resets the module asks for
// there, beyond the card's (one per leave): measured, written down, with
// why it differs from the card's budget.
var phoneBudget = []struct {
	scope, name   string
	apdus, resets int
	why           string
}{
	{"operation", "a-list", 13, 0, probeWhy},
	{"operation", "b-objects", 17, 0, "card − 8: " + noAuthCertWhy},
	{"operation", "c-sign-auth", 22, 2, "card − 2: " + readAtLogin + "; " + leaveIsReset + "; " + laterResets + "; 2 leaves (login, signature)"},
	{"operation", "d-sign-sign", 24, 2, "card − 4: " + leaveIsReset + "; " + laterResets + "; 2 leaves (login, signature)"},
	{"operation", "e-sign10", 73, 11, "card − 20: " + readAtLogin + "; " + leaveIsReset + "; " + laterResets + "; 11 leaves (login, 10 signatures)"},
	{"session", "a-list", 13, 0, probeWhy},
	{"session", "b-objects", 17, 0, "card − 8: " + noAuthCertWhy},
	{"session", "c-sign-auth", 19, 1, "as the card: " + readAtLogin + "; " + leaveIsReset + " at the logout"},
	{"session", "d-sign-sign", 21, 1, "card − 2: " + leaveIsReset + " at the logout"},
	{"session", "e-sign10", 43, 1, "as the card: " + readAtLogin + "; " + leaveIsReset + " at the logout"},
}

// The same scenarios on each phone: exact counts, never more than the
// card, the same signatures and PIN VERIFYs, no try spent.
func TestPhoneAPDUBudget(t *testing.T) {
	for _, dev := range []sim.Device{sim.DeviceAndroid, sim.DeviceIPhone} {
		for _, tc := range phoneBudget {
			t.Run(dev.String()+"/"+tc.scope+"/"+tc.name, func(t *testing.T) {
				setScope(t, tc.scope)
				sc, err := scenario.ByName(tc.name)
				require.NoError(t, err)
				onCard := run(t, card(t), sc) // card(t) also made base
				ph, err := base.CloneWith(sim.Options{Device: dev})
				require.NoError(t, err)
				for range 2 { // fresh, then as the first run left it
					got := run(t, ph, sc)
					t.Logf("%s/%s/%s: %d APDUs %v, card %d: %s", dev, tc.scope, tc.name, got.APDUs, byINS(got.ByINS), onCard.APDUs, tc.why)
					assert.Equal(t, uint64(tc.apdus), got.APDUs, "APDUs")
					assert.Equal(t, uint64(tc.resets), got.Resets-onCard.Resets, "resets beyond the card's")
					assert.LessOrEqual(t, got.APDUs, onCard.APDUs, "never more than the card")
					assert.Equal(t, onCard.Signatures, got.Signatures, "signatures")
					assert.Equal(t, onCard.Verifies, got.Verifies, "PIN VERIFY commands")
				}
				assert.Equal(t, sim.AuthMaxTries, ph.TriesLeft(1), "no try spent")
				assert.Equal(t, sim.SignMaxTries, ph.TriesLeft(2), "no try spent")
			})
		}
	}
}
