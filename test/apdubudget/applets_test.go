package apdubudget

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/test/bench/scenario"
)

// The card has other applets (券面事項入力補助AP, 券面事項確認AP, 共通カードAP,
// 住基AP) whose PINs and 照合番号 have their own retry counters. The module
// only ever selects the JPKI AP, plus the GP ISD (A0 00 00 01 51 00 00)
// as its logout; no other AID, and no command at all to another applet
// (no EF SELECT, VERIFY or READ there). The simulator counts SELECTs per
// applet and every command that reaches another applet.
func TestModuleTouchesNoOtherApplet(t *testing.T) {
	eachScope(t, func(t *testing.T, scope string) {
		c := card(t)
		isd := uint64(0)
		for _, sc := range scenario.All {
			t.Run(sc.Name, func(t *testing.T) {
				before := c.Stats()
				run(t, c, sc)
				after := c.Stats()
				onlyJPKIAndLogout(t, before, after)
				if sc.Signatures > 0 {
					assert.Greater(t, after.Selects["isd"], before.Selects["isd"], "a signing scenario ends with the logout SELECT of the ISD")
				}
				isd = after.Selects["isd"]
			})
		}
		t.Run("wrong PIN, login, logout", func(t *testing.T) {
			before := c.Stats()
			wrongLoginLogout(t, c)
			onlyJPKIAndLogout(t, before, c.Stats())
		})
		t.Logf("%s: %d logout SELECTs of the ISD in all scenarios", scope, isd)
		assert.Equal(t, sim.AuthMaxTries, c.TriesLeft(1))
		for _, k := range c.OtherTries() {
			assert.Equal(t, k.MaxTries, k.TriesLeft, "%s untouched", k.Name)
		}
	})
}

// onlyJPKIAndLogout asserts that between two Stats only the JPKI AP and
// the ISD were selected and no command reached another applet.
func onlyJPKIAndLogout(t *testing.T, before, after sim.Stats) {
	t.Helper()
	for app, n := range after.Selects {
		if n == before.Selects[app] {
			continue
		}
		assert.Contains(t, []string{"jpki", "isd"}, app, "the module selected the %s applet %d times", app, n-before.Selects[app])
	}
	assert.Equal(t, before.OtherApplet, after.OtherApplet, "commands sent to an applet other than the JPKI AP")
	assert.Greater(t, after.Selects["jpki"], before.Selects["jpki"], "the JPKI AP was used")
}

// wrongLoginLogout spends one auth try, logs in, signs and logs out
// explicitly (C_Logout), on the module's Go core.
func wrongLoginLogout(t *testing.T, c *sim.Card) {
	r := sim.NewReader("Applets Reader 00 00")
	r.Insert(c)
	mod := &scenario.InProcess{Open: func() (cardos.Context, error) { return sim.NewContext(r), nil }}
	require.NoError(t, mod.Initialize())
	defer mod.Finalize()
	slots, err := mod.SlotList()
	require.NoError(t, err)
	s, err := mod.OpenSession(slots[0])
	require.NoError(t, err)
	assert.Error(t, mod.Login(s, "9999"), "wrong PIN")
	require.NoError(t, mod.Login(s, sim.DefaultAuthPIN))
	keys, err := mod.Find(s, []scenario.Attr{{Type: ck.CKA_CLASS, Value: []byte{3, 0, 0, 0, 0, 0, 0, 0}}})
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	require.NoError(t, mod.SignInit(s, ck.CKM_SHA256_RSA_PKCS, keys[0]))
	_, err = mod.Sign(s, []byte("applets"))
	require.NoError(t, err)
	require.NoError(t, mod.Module().Logout(p11.SessionHandle(s)))
	require.NoError(t, mod.Module().CloseAllSessions(p11.SlotID(slots[0])))
}
