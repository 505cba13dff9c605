// Package apdubudget asserts, exactly, how many APDUs the module sends to
// the card in each benchmark scenario (test/bench/scenario), for both PIN
// scopes, and that this never exceeds the minimum for a shared card; and
// on each smartphone credential, never more than on the card. The
// counts come from the simulator's own counters, with the module's Go
// core in-process, so the test is deterministic; test/bench.sh measures
// the same scenarios through the built .so and pcscd, and against
// OpenSC.
package apdubudget

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/test/bench/scenario"
)

// budget is the exact APDU count the module has in each scenario, per
// PIN scope: measured, written down, and independent of scenario.Minimum so that
// each check fails by itself.
var budget = map[string]map[string]int{
	"operation": {"a-list": 13, "b-objects": 25, "c-sign-auth": 24, "d-sign-sign": 28, "e-sign10": 93},
	"session":   {"a-list": 13, "b-objects": 25, "c-sign-auth": 19, "d-sign-sign": 23, "e-sign10": 43},
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
	d := sim.Stats{APDUs: after.APDUs - before.APDUs, Signatures: after.Signatures - before.Signatures, Verifies: after.Verifies - before.Verifies,
		Resets: after.Resets - before.Resets, ByINS: map[byte]uint64{}}
	for k, v := range after.ByINS {
		if v != before.ByINS[k] {
			d.ByINS[k] = v - before.ByINS[k]
		}
	}
	return d
}

func TestAPDUBudget(t *testing.T) {
	eachScope(t, func(t *testing.T, scope string) {
		apduBudget(t, scope)
	})
}

func apduBudget(t *testing.T, scope string) {
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
				min, why := scenario.Minimum(sc.Name, scope, scenario.CertLens{Auth: len(certs.AuthCert), AuthCA: len(certs.AuthCA), SignCA: len(certs.SignCA)})
				t.Logf("%s/%s: %d APDUs %v (minimum %d: %s)", scope, sc.Name, got.APDUs, byINS(got.ByINS), min, why)
				assert.Equal(t, uint64(budget[scope][sc.Name]), got.APDUs, "APDUs of %s", sc.Name)
				assert.LessOrEqual(t, got.APDUs, uint64(min), "never more than the minimum for a shared card")
				assert.Equal(t, uint64(sc.Signatures), got.Signatures, "signatures")
				wantVerifies := uint64(0)
				if sc.Signatures > 0 {
					wantVerifies = 1 // the login
					if scope == "operation" {
						wantVerifies += uint64(sc.Signatures) // the held PIN, once per signature
					}
				}
				assert.Equal(t, wantVerifies, got.Verifies, "PIN VERIFY commands")
			}
		})
	}
	assert.Equal(t, sim.AuthMaxTries, c.TriesLeft(1), "no try spent")
	assert.Equal(t, sim.SignMaxTries, c.TriesLeft(2), "no try spent")
}

// Listing the objects costs no READ BINARY twice: the identity read
// when the card is probed becomes the first chunk of the certificate.
func TestHeaderIsReused(t *testing.T) {
	c := card(t)
	before := c.Stats().ByINS[0xB0]
	mod, _, slots := openModule(t, c) // token name and identity: one READ each
	_, err := mod.TokenInfo(slots[0])
	require.NoError(t, err)
	s, err := mod.OpenSession(slots[0])
	require.NoError(t, err)
	objs, err := mod.Find(s, nil)
	require.NoError(t, err)
	require.Len(t, objs, 3, "auth certificate, public key, CA certificate")
	for _, o := range objs {
		_, err := mod.Attr(s, o, ck.CKA_SUBJECT)
		require.NoError(t, err)
	}
	certs := c.Certificates()
	assert.Equal(t, uint64(1+scenario.Reads(len(certs.AuthCert))+scenario.Reads(len(certs.AuthCA))), c.Stats().ByINS[0xB0]-before)
	// Asked again, nothing more is read.
	before = c.Stats().APDUs
	_, err = mod.Find(s, nil)
	require.NoError(t, err)
	for _, o := range objs {
		_, err := mod.Attr(s, o, ck.CKA_SUBJECT)
		require.NoError(t, err)
	}
	assert.Equal(t, before, c.Stats().APDUs)
}

// A key found by its class and ID (the usual look-up before signing)
// needs no certificate at all; its modulus does.
func TestKeyLookupReadsNoCertificate(t *testing.T) {
	c := card(t)
	mod, _, slots := openModule(t, c)
	s, err := mod.OpenSession(slots[0])
	require.NoError(t, err)
	require.NoError(t, mod.Login(s, sim.DefaultAuthPIN))
	before := c.Stats().ByINS[0xB0]
	keys, err := mod.Find(s, []scenario.Attr{{Type: ck.CKA_CLASS, Value: []byte{3, 0, 0, 0, 0, 0, 0, 0}}, {Type: ck.CKA_ID, Value: []byte{1}}})
	require.NoError(t, err)
	require.Len(t, keys, 1)
	_, err = mod.Attr(s, keys[0], ck.CKA_ALWAYS_AUTHENTICATE)
	require.NoError(t, err)
	assert.Equal(t, before, c.Stats().ByINS[0xB0], "no READ BINARY for a static look-up")
	mod1, err := mod.Attr(s, keys[0], ck.CKA_MODULUS)
	require.NoError(t, err)
	assert.Len(t, mod1, 256)
	assert.Equal(t, uint64(scenario.Reads(len(c.Certificates().AuthCert))-1), c.Stats().ByINS[0xB0]-before, "the modulus needs the rest of the certificate (its start is the identity, read at the probe), read once")
}

// reconnectBudget is what the first signature after a service restart
// costs, per PIN scope: the identity proof (SELECT EF 000A + one READ
// BINARY) before anything else on the new connection, then the
// signature as usual. Session scope then finds the card logged out (the
// restart powered it down): the proof and the refused SIGN.
var reconnectBudget = map[string]int{"operation": 8 + 2, "session": 3 + 2}

// After the service restarted, the card proves it is the same card in
// the transaction of the next signature, before the held PIN is sent.
func TestReconnectProofBudget(t *testing.T) {
	eachScope(t, func(t *testing.T, scope string) {
		c := card(t)
		mod, ctx, slots := openModule(t, c)
		s, err := mod.OpenSession(slots[0])
		require.NoError(t, err)
		require.NoError(t, mod.Login(s, sim.DefaultAuthPIN))
		keys, err := mod.Find(s, []scenario.Attr{{Type: ck.CKA_CLASS, Value: []byte{3, 0, 0, 0, 0, 0, 0, 0}}})
		require.NoError(t, err)
		require.Len(t, keys, 1)
		ctx.StopService()
		ctx.StartService()
		before := c.Stats()
		require.NoError(t, mod.SignInit(s, ck.CKM_SHA256_RSA_PKCS, keys[0]))
		_, err = mod.Sign(s, []byte("after the restart"))
		if scope == "operation" {
			require.NoError(t, err)
		} else {
			require.Error(t, err, "the restart powered the card down: logged out")
		}
		after := c.Stats()
		assert.Equal(t, uint64(reconnectBudget[scope]), after.APDUs-before.APDUs)
		assert.Equal(t, uint64(1), after.ByINS[0xB0]-before.ByINS[0xB0], "the identity read")
	})
}

// openModule runs a fresh in-process module on card c in a reader of
// its own and lists the slots; the module is finalised when the test
// ends.
func openModule(t *testing.T, c *sim.Card) (*scenario.InProcess, *sim.Context, []uint) {
	t.Helper()
	r := sim.NewReader("Budget Reader 00 00")
	r.Insert(c)
	ctx := sim.NewContext(r)
	mod := &scenario.InProcess{Open: func() (cardos.Context, error) { return ctx, nil }}
	require.NoError(t, mod.Initialize())
	t.Cleanup(func() { mod.Finalize() })
	slots, err := mod.SlotList()
	require.NoError(t, err)
	return mod, ctx, slots
}

// eachScope runs fn as a subtest per PIN scope, with the module's scope
// for both tokens set in the environment.
func eachScope(t *testing.T, fn func(t *testing.T, scope string)) {
	for _, scope := range []string{"operation", "session"} {
		t.Run(scope, func(t *testing.T) {
			setScope(t, scope)
			fn(t, scope)
		})
	}
}

// setScope sets the module's PIN scope of both tokens for the test.
func setScope(t *testing.T, scope string) {
	t.Setenv("MYNA_PKCS11_AUTH_PIN_SCOPE", scope)
	t.Setenv("MYNA_PKCS11_SIGN_PIN_SCOPE", scope)
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
