package p11

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// efOnly is another program as OpenSC 0.23's JPKI driver talks to the
// card (src/libopensc/card-jpki.c): it selected the JPKI AP when it bound
// the card and afterwards only selects EFs by FID. It reads both tries
// counters, then logs in to the auth key and signs. Every answer must be
// the one it gets with the card to itself.
func (f *fixture) efOnly(after string) {
	f.t.Helper()
	for _, c := range []struct{ what, cmd, want string }{
		{"SELECT PIN EF", rawSelectEF(efAuthPIN), "9000"}, {"auth tries", "00200080", "63C3"},
		{"SELECT EF 001B", rawSelectEF(efSignPIN), "9000"}, {"sign tries", "00200080", "63C5"},
		{"SELECT PIN EF", rawSelectEF(efAuthPIN), "9000"}, {"VERIFY", rawVerify(sim.DefaultAuthPIN), "9000"},
		{"SELECT EF 0017", rawSelectEF(efAuthKey), "9000"}, {"SIGN", fmt.Sprintf("802A0080%02X%s00", len(rawSignInfo)/2, rawSignInfo), "9000"},
	} {
		assert.Equal(f.t, c.want, f.other(c.cmd), "%s after our %s", c.what, after)
	}
}

// A program that relies on the card's current applet keeps working after
// each of the module's operations, in both PIN scopes: the module never
// leaves another applet selected (it drops the PINs by selecting the GP
// ISD and then selects the JPKI AP again).
func TestEFOnlyProgramBesideEachOperation(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		require.Equal(t, "9000", f.other(rawSelectJPKI), "the other program binds the card")
		auth, sign := f.slots()
		s, ss := f.open1(auth, true), f.open1(sign, false)
		for _, op := range []struct {
			name string
			do   func()
		}{
			{"token info", func() {
				for _, slot := range []SlotID{auth, sign} {
					_, err := f.m.TokenInfo(slot)
					require.NoError(t, err)
				}
			}},
			{"certificate read", func() {
				certs := f.findClass(s, ck.CKO_CERTIFICATE)
				require.NotEmpty(t, certs)
				f.attr(s, certs[0], ck.CKA_VALUE)
			}},
			{"auth login", func() { f.login(s, sim.DefaultAuthPIN) }},
			{"auth signature", func() { f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("a")) }},
			{"sign login", func() { f.login(ss, sim.DefaultSignPIN) }},
			{"sign signature", func() { f.sign(ss, f.privKey(ss), ck.CKM_SHA256_RSA_PKCS, []byte("s")) }},
			{"auth PIN change and back", func() {
				require.NoError(t, f.m.SetPIN(s, []byte(sim.DefaultAuthPIN), []byte("5678")))
				require.NoError(t, f.m.SetPIN(s, []byte("5678"), []byte(sim.DefaultAuthPIN)))
			}},
			{"logout", func() { require.NoError(t, f.m.Logout(s)) }},
			{"sign login again", func() { f.login(ss, sim.DefaultSignPIN) }},
			{"close of the last sign session", func() { require.NoError(t, f.m.CloseSession(ss)) }},
		} {
			op.do()
			f.efOnly(op.name)
		}
		assert.Equal(t, 3, f.card.TriesLeft(1))
		assert.Equal(t, 5, f.card.TriesLeft(2))
	})
}
