package p11

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// A command that ran on the card but whose answer was lost (a contactless
// card or a phone leaves the field, a reader gives up): the module never
// sends a PIN again on its own, the card is not left verified, and the
// tries are read before the next VERIFY the user asks for.
func TestLostAnswer(t *testing.T) {
	// lostAt arms the fault at the first command with INS ins after
	// `after` commands of the operation's transaction.
	type lostAt struct {
		ins   byte
		after int
	}
	for _, tt := range []struct {
		name      string
		scope     PINScope
		loggedIn  bool   // log in before the fault
		at        lostAt // where the answer is lost
		op        string // "login", "sign", "setpin"
		pin       string // the PIN the login sends
		wantTries int    // auth tries on the card afterwards
		stillIn   bool   // the token is still logged in afterwards
		newPIN    string // the PIN the next login needs
	}{
		{"login, right PIN", ScopeOperation, false, lostAt{apdu.INSVerify, 0}, "login", sim.DefaultAuthPIN, 3, false, sim.DefaultAuthPIN},
		{"login, wrong PIN", ScopeOperation, false, lostAt{apdu.INSVerify, 0}, "login", "0000", 2, false, sim.DefaultAuthPIN},
		{"login, right PIN, session scope", ScopeSession, false, lostAt{apdu.INSVerify, 0}, "login", sim.DefaultAuthPIN, 3, false, sim.DefaultAuthPIN},
		// SELECT AP, SELECT PIN EF, tries query: the held PIN's VERIFY is
		// the first VERIFY after 3 commands.
		{"held PIN", ScopeOperation, true, lostAt{apdu.INSVerify, 3}, "sign", "", 3, false, sim.DefaultAuthPIN},
		{"sign", ScopeOperation, true, lostAt{apdu.INSComputeSignature, 0}, "sign", "", 3, true, sim.DefaultAuthPIN},
		{"change", ScopeOperation, true, lostAt{apdu.INSChangeReferenceData, 0}, "setpin", "", 3, false, "4321"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureConfig(t, scopeConfig(tt.scope, tt.scope))
			auth, _ := f.slots()
			s := f.open1(auth, true)
			var key ObjectHandle
			if tt.loggedIn {
				f.login(s, sim.DefaultAuthPIN)
				key = f.privKey(s)
			}
			if tt.op == "sign" {
				require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
			}
			f.card.SetFault(sim.Fault{Kind: sim.FaultLost, OnINS: true, INS: tt.at.ins, After: tt.at.after})
			var err error
			switch tt.op {
			case "login":
				err = f.m.Login(s, ck.CKU_USER, []byte(tt.pin))
			case "sign":
				_, _, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
			case "setpin":
				err = f.m.SetPIN(s, []byte(sim.DefaultAuthPIN), []byte("4321"))
			}
			assert.Equal(t, "CKR_DEVICE_ERROR", rv(err), "the answer was lost")
			verifies := f.card.Stats().Verifies

			assert.Equal(t, "6982", f.pinLessSign(efAuthKey), "the card is not left verified")
			assert.Equal(t, tt.wantTries, f.card.TriesLeft(1))
			info, err := f.m.SessionInfo(s)
			require.NoError(t, err)
			assert.Equal(t, tt.stillIn, info.State == ck.CKS_RW_USER_FUNCTIONS, "logged in afterwards")
			ti, err := f.m.TokenInfo(auth)
			require.NoError(t, err)
			assert.Equal(t, tt.wantTries < 3, ti.Flags&ck.CKF_USER_PIN_COUNT_LOW != 0, "the token shows what the card counted")
			assert.Equal(t, verifies, f.card.Stats().Verifies, "no PIN sent on the module's own after the loss")

			if tt.stillIn {
				assert.Len(t, f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("y")), 256, "nothing about the PIN was in doubt")
				return
			}
			ins20 := f.card.Stats().ByINS[apdu.INSVerify]
			f.login(s, tt.newPIN)
			assert.Equal(t, verifies+1, f.card.Stats().Verifies, "the user's own login sends the PIN once")
			want := ins20 + 2 // the tries query, the user's PIN
			if !tt.loggedIn {
				want++ // the first successful VERIFY of the insertion: the full counter is read
			}
			assert.Equal(t, want, f.card.Stats().ByINS[apdu.INSVerify], "the tries are read before the user's PIN")
			assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			assert.Len(t, f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("y")), 256)
		})
	}
}

// No trace shows this card's PIN change, so C_SetPIN confirms the new PIN
// at once, under every answer the card may give: a change the card did
// not store is found out (one try, CKR_FUNCTION_FAILED, logged out)
// before the person relies on the new PIN; a refused command changes
// nothing and spends nothing; the card is never left verified.
func TestPINChangeOnEveryCard(t *testing.T) {
	for _, tt := range []struct {
		name      string
		q         sim.Quirks
		want      string
		tries     int    // auth tries afterwards
		verifies  uint64 // PIN VERIFYs sent by C_SetPIN
		loginWith string // a PIN that logs in afterwards
	}{
		{"as sent", sim.Quirks{}, "CKR_OK", 3, 2, "4321"},
		{"keeps the old PIN", sim.Quirks{ChangeStores: sim.ChangeKeepsOld}, "CKR_FUNCTION_FAILED", 2, 2, sim.DefaultAuthPIN},
		{"stores something else", sim.Quirks{ChangeStores: sim.ChangeGarbles}, "CKR_FUNCTION_FAILED", 2, 2, ""},
		{"wants old and new", sim.Quirks{ChangeNeedsOld: true}, "CKR_DEVICE_ERROR", 3, 1, sim.DefaultAuthPIN},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			require.NoError(t, f.card.SetQuirks(tt.q))
			auth, _ := f.slots()
			s := f.open1(auth, true)
			f.login(s, sim.DefaultAuthPIN)
			v := f.card.Stats().Verifies
			err := f.m.SetPIN(s, []byte(sim.DefaultAuthPIN), []byte("4321"))
			assert.Equal(t, tt.want, rv(err))
			assert.Equal(t, tt.verifies, f.card.Stats().Verifies-v, "the old PIN, then the new one to confirm the change")
			assert.Equal(t, tt.tries, f.card.TriesLeft(1))
			assert.Equal(t, "6982", f.pinLessSign(efAuthKey), "the card is not left verified")
			info, err := f.m.SessionInfo(s)
			require.NoError(t, err)
			assert.Equal(t, tt.want != "CKR_FUNCTION_FAILED", info.State == ck.CKS_RW_USER_FUNCTIONS, "logged out when the change is unconfirmed")
			if tt.loginWith != "" {
				if info.State == ck.CKS_RW_USER_FUNCTIONS {
					require.NoError(t, f.m.Logout(s))
				}
				f.login(s, tt.loginWith)
				assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			}
		})
	}
}

// Whether selecting another applet makes the card forget its PINs is
// unproven on real cards. The module checks it once per insertion and
// PIN, right after the first leave; on a card that keeps its PINs, every
// leave becomes a card reset. Either way the card is never left verified.
func TestLeaveProven(t *testing.T) {
	for _, keeps := range []bool{false, true} {
		t.Run(fmt.Sprintf("leave keeps PINs %v", keeps), func(t *testing.T) {
			f := newFixture(t)
			require.NoError(t, f.card.SetQuirks(sim.Quirks{LeaveKeepsPINs: keeps}))
			for _, tok := range f.keyTokens() {
				s := f.open1(tok.slot, false)
				f.login(s, tok.pin)
				assert.Equal(t, "6982", f.pinLessSign(tok.keyEF), "not verified after the login")
				key := f.privKey(s)
				for i := 0; i < 2; i++ {
					before := f.card.Stats()
					f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("x"))
					assert.Equal(t, "6982", f.pinLessSign(tok.keyEF), "not verified after a signature")
					after := f.card.Stats()
					assert.Equal(t, uint64(1), after.Signatures-before.Signatures, "one signature, no witness after the first leave")
					if keeps {
						assert.Equal(t, uint64(1), after.Resets-before.Resets, "the leave is a reset on this card")
					}
				}
			}
			assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			assert.Equal(t, sim.SignMaxTries, f.card.TriesLeft(2))
		})
	}
}

// A token in scope session leaves the card verified between
// transactions; its C_Logout must leave it unverified whether or not
// selecting another applet makes this card forget its PINs, though no
// VERIFY was sent in the logout's own transaction.
func TestSessionLogoutLeaves(t *testing.T) {
	for _, keeps := range []bool{false, true} {
		t.Run(fmt.Sprintf("leave keeps PINs %v", keeps), func(t *testing.T) {
			f := newFixtureConfig(t, scopeConfig(ScopeSession, ScopeSession))
			require.NoError(t, f.card.SetQuirks(sim.Quirks{LeaveKeepsPINs: keeps}))
			for _, tok := range f.keyTokens() {
				s := f.open1(tok.slot, false)
				f.login(s, tok.pin)
				require.NoError(t, f.m.Logout(s))
				assert.Equal(t, "6982", f.pinLessSign(tok.keyEF), "not verified after C_Logout")
			}
			assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			assert.Equal(t, sim.SignMaxTries, f.card.TriesLeft(2))
		})
	}
}

// keyToken is a token with its PIN and its key's EF.
type keyToken struct {
	slot  SlotID
	pin   string
	keyEF string
}

// keyTokens lists the auth and the sign token.
func (f *fixture) keyTokens() []keyToken {
	auth, sign := f.slots()
	return []keyToken{{auth, sim.DefaultAuthPIN, efAuthKey}, {sign, sim.DefaultSignPIN, efSignKey}}
}
