package p11

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// phones are the smartphone credentials and the model their tokens show.
var phones = []struct {
	dev   sim.Device
	model string
}{{sim.DeviceAndroid, "JPKI Android"}, {sim.DeviceIPhone, "JPKI iPhone"}}

// phoneFixture is a module over the default card's keys answering as
// device dev, with quirks q.
func phoneFixture(t *testing.T, cfg *Config, dev sim.Device, q sim.Quirks) *fixture {
	t.Helper()
	card, err := genCard(t, "").CloneWith(sim.Options{Device: dev})
	require.NoError(t, err)
	require.NoError(t, card.SetQuirks(q))
	return newFixtureCard(t, cfg, card)
}

// objectsWithID returns the objects of class with CKA_ID id the session sees.
func (f *fixture) objectsWithID(s SessionHandle, class uint, id byte) []ObjectHandle {
	return f.find(s, Attribute{Type: ck.CKA_CLASS, Value: ulong(class)}, Attribute{Type: ck.CKA_ID, Value: []byte{id}})
}

// signVerifies signs with the session's private key and checks the
// signature with the public key of the certificate of CKA_ID id.
func (f *fixture) signVerifies(s SessionHandle, id byte) {
	f.t.Helper()
	certs := f.objectsWithID(s, ck.CKO_CERTIFICATE, id)
	require.Len(f.t, certs, 1, "the certificate %02X is shown", id)
	keys := f.objectsWithID(s, ck.CKO_PRIVATE_KEY, id)
	require.Len(f.t, keys, 1, "the private key %02X is shown", id)
	msg := []byte("signed on a phone")
	sig := f.sign(s, keys[0], ck.CKM_SHA256_RSA_PKCS, msg)
	h := sha256.Sum256(msg)
	require.NoError(f.t, rsa.VerifyPKCS1v15(certPub(f.t, f.attr(s, certs[0], ck.CKA_VALUE)), crypto.SHA256, h[:], sig))
}

// A smartphone credential: the auth token shows its certificate and key
// only while logged in (the certificate is behind the PIN), both keys
// sign, the model names the phone, the serial is the insertion's own,
// and probing spends no try.
func TestPhoneTokens(t *testing.T) {
	for _, p := range phones {
		t.Run(p.dev.String(), func(t *testing.T) {
			f := phoneFixture(t, nil, p.dev, sim.Quirks{})
			auth, sign := f.slots()
			var serial string
			for _, slot := range []SlotID{auth, sign} {
				ti, err := f.m.TokenInfo(slot)
				require.NoError(t, err)
				assert.Equal(t, p.model, ti.Model)
				assert.NotEmpty(t, ti.SerialNumber)
				if serial != "" {
					assert.Equal(t, serial, ti.SerialNumber, "both tokens of one credential show one serial")
				}
				serial = ti.SerialNumber
			}
			assert.Zero(t, f.card.Stats().Verifies, "probing sent no PIN")

			s := f.open1(auth, false)
			hidden := func(why string) {
				for _, class := range []uint{ck.CKO_CERTIFICATE, ck.CKO_PUBLIC_KEY, ck.CKO_PRIVATE_KEY} {
					assert.Empty(t, f.objectsWithID(s, class, 0x01), "%s: class %d", why, class)
				}
			}
			hidden("before login")
			f.login(s, sim.DefaultAuthPIN)
			assert.Len(t, f.objectsWithID(s, ck.CKO_PUBLIC_KEY, 0x01), 1, "the public key after login")
			f.signVerifies(s, 0x01)
			require.NoError(t, f.m.Logout(s))
			hidden("after logout")

			s2 := f.open1(sign, false)
			f.login(s2, sim.DefaultSignPIN)
			f.signVerifies(s2, 0x02)
			require.NoError(t, f.m.Logout(s2))
			assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			assert.Equal(t, sim.SignMaxTries, f.card.TriesLeft(2))

			f.r.Remove()
			f.r.Insert(f.card)
			auth, _ = f.slots()
			ti, err := f.m.TokenInfo(auth)
			require.NoError(t, err)
			assert.NotEqual(t, serial, ti.SerialNumber, "a reinserted phone is a new token")
			assert.Equal(t, p.model, ti.Model)
		})
	}
}

// Every answer a phone might give where none is published: the module
// signs with both keys, never leaves the credential verified after a
// signature or a logout, in both PIN scopes, and spends no try.
func TestPhoneQuirks(t *testing.T) {
	quirks := []struct {
		name string
		q    sim.Quirks
	}{
		{"defaults", sim.Quirks{}},
		{"sign cert free", sim.Quirks{PhoneSignCertFree: true}},
		{"CAs behind PIN", sim.Quirks{PhoneCAsBehindPIN: true}},
		{"iPhone auth cert free", sim.Quirks{IPhoneAuthCertFree: true}},
		{"routes every AID", sim.Quirks{PhoneRoutesAllAIDs: true}},
		{"routes every AID, applets share PINs", sim.Quirks{PhoneRoutesAllAIDs: true, LeaveKeepsPINs: true}},
		{"end forgets", sim.Quirks{PhoneEnd: sim.EndForgets}},
		{"end removes", sim.Quirks{PhoneEnd: sim.EndRemoves}},
		{"re-select clears", sim.Quirks{ReselectClearsPINs: true}},
	}
	for _, p := range phones {
		for _, qq := range quirks {
			for _, scope := range []PINScope{ScopeOperation, ScopeSession} {
				if qq.q.ReselectClearsPINs && scope == ScopeSession {
					continue // the login is lost at the next transaction (TestReselectClearsPINs)
				}
				t.Run(fmt.Sprintf("%s/%s/%s", p.dev, qq.name, scope), func(t *testing.T) {
					f := phoneFixture(t, scopeConfig(scope, scope), p.dev, qq.q)
					auth, sign := f.slots()
					for _, tok := range []struct {
						slot  SlotID
						pin   string
						id    byte
						keyEF string
					}{{auth, sim.DefaultAuthPIN, 0x01, "0017"}, {sign, sim.DefaultSignPIN, 0x02, "001A"}} {
						s := f.open1(tok.slot, false)
						f.login(s, tok.pin)
						resets := f.card.Stats().Resets
						f.signVerifies(s, tok.id)
						if scope == ScopeOperation {
							if !qq.q.PhoneRoutesAllAIDs {
								assert.Greater(t, f.card.Stats().Resets, resets, "no other applet to select: the leave is a card reset")
							}
							assert.Equal(t, "6982", f.pinLessSign(tok.keyEF), "not verified after a signature")
						}
						require.NoError(t, f.m.Logout(s))
						assert.Equal(t, "6982", f.pinLessSign(tok.keyEF), "not verified after C_Logout")
					}
					assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
					assert.Equal(t, sim.SignMaxTries, f.card.TriesLeft(2))
				})
			}
		}
	}
}

// A phone that keeps its CA certificates behind the PINs
// (Quirks.PhoneCAsBehindPIN): the card's 6982 to a CA read while the
// other token is logged in says nothing about that login, which holds.
func TestPhoneCAsBehindPIN(t *testing.T) {
	for _, scope := range []PINScope{ScopeOperation, ScopeSession} {
		t.Run(scope.String(), func(t *testing.T) {
			f := phoneFixture(t, scopeConfig(scope, scope), sim.DeviceAndroid, sim.Quirks{PhoneCAsBehindPIN: true})
			auth, sign := f.slots()
			for _, tok := range []struct {
				slot, other SlotID
				pin         string
				id          byte
			}{{auth, sign, sim.DefaultAuthPIN, 0x01}, {sign, auth, sim.DefaultSignPIN, 0x02}} {
				s := f.open1(tok.slot, false)
				f.login(s, tok.pin)
				f.find(f.open1(tok.other, false)) // reads the other token's CA: 6982
				f.signVerifies(s, tok.id)
				require.NoError(t, f.m.Logout(s))
			}
			assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			assert.Equal(t, sim.SignMaxTries, f.card.TriesLeft(2))
		})
	}
}

// A phone that leaves the field while its answer to a PIN command is on
// the way: the login fails, no PIN is sent again on the module's own, the
// phone is not left verified, and the token shows the tries the phone
// counted. The module resets the phone so that it is not left verified;
// nothing readable without a PIN proves it is the same phone afterwards,
// so its tokens come back as new ones and the old session is gone.
func TestPhoneLostAnswer(t *testing.T) {
	for _, tt := range []struct {
		pin       string
		wantTries int
	}{{sim.DefaultAuthPIN, 3}, {"0000", 2}} {
		for _, p := range phones {
			t.Run(fmt.Sprintf("%s, PIN %s", p.dev, tt.pin), func(t *testing.T) {
				f := phoneFixture(t, nil, p.dev, sim.Quirks{})
				auth, _ := f.slots()
				s := f.open1(auth, false)
				f.card.SetFault(sim.Fault{Kind: sim.FaultLost, OnINS: true, INS: apdu.INSVerify})
				assert.Equal(t, "CKR_DEVICE_ERROR", rv(f.m.Login(s, ck.CKU_USER, []byte(tt.pin))))
				verifies := f.card.Stats().Verifies
				assert.Equal(t, "6982", f.pinLessSign(efAuthKey), "the phone is not left verified")
				assert.Equal(t, tt.wantTries, f.card.TriesLeft(1))

				auth, _ = f.slots()
				ti, err := f.m.TokenInfo(auth)
				require.NoError(t, err)
				assert.Equal(t, tt.wantTries < 3, ti.Flags&ck.CKF_USER_PIN_COUNT_LOW != 0, "the token shows what the phone counted")
				assert.Equal(t, verifies, f.card.Stats().Verifies, "no PIN sent on the module's own after the loss")
				_, err = f.m.SessionInfo(s)
				assert.Error(t, err, "a new token: the old session is gone")
				f.login(f.open1(auth, false), sim.DefaultAuthPIN)
				assert.Equal(t, sim.AuthMaxTries, f.card.TriesLeft(1))
			})
		}
	}
}
