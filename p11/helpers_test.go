package p11

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Generating a card means four RSA-2048 keys: each kind is made once per
// test binary and cloned per test.
var (
	cardsMu sync.Mutex
	cards   = map[string]*sim.Card{}
)

func genCard(t testing.TB, kind string) *sim.Card {
	t.Helper()
	cardsMu.Lock()
	defer cardsMu.Unlock()
	base := cards[kind]
	if base == nil {
		var p sim.Profile
		switch kind {
		case "nosign":
			p.NoSignCert = true
		case "face":
			p.FaceAuth = true
		case "otherpins": // another person's card, with other PINs
			p.AuthPIN, p.SignPIN = otherAuthPIN, otherSignPIN
		} // "other": another person's card with the default PINs
		var err error
		base, err = sim.New(sim.Options{Profile: p})
		require.NoError(t, err)
		cards[kind] = base
	}
	c, err := base.Clone()
	require.NoError(t, err)
	return c
}

// The PINs of the "otherpins" card.
const (
	otherAuthPIN = "5678"
	otherSignPIN = "XYZ789"
)

// fixture is a module over an in-process simulator with one reader
// holding a default card.
type fixture struct {
	t       *testing.T
	m       *Module
	ctx     *sim.Context // the Context of the last Initialize
	readers []*sim.Reader
	r       *sim.Reader
	card    *sim.Card
	opens   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureConfig(t, nil)
}

// newFixtureConfig is newFixture with the module's configuration fixed
// to cfg (nil: read as Initialize does).
func newFixtureConfig(t *testing.T, cfg *Config) *fixture {
	t.Helper()
	return newFixtureCard(t, cfg, genCard(t, "default"))
}

// newFixtureCard is newFixtureConfig with card in the reader.
func newFixtureCard(t *testing.T, cfg *Config, card *sim.Card) *fixture {
	t.Helper()
	f := &fixture{t: t, r: sim.NewReader("Sim Reader 00 00"), card: card}
	f.r.Insert(f.card)
	f.readers = []*sim.Reader{f.r}
	f.m = NewModule(f.open, mynacard.Attach)
	if cfg != nil {
		f.m.UseConfig(*cfg)
	}
	require.NoError(t, f.m.Initialize(InitArgs{}))
	t.Cleanup(func() { f.m.Finalize() })
	return f
}

// open builds a fresh Context over the fixture's readers (Finalize closes
// the previous one).
func (f *fixture) open() (cardos.Context, error) {
	f.opens++
	f.ctx = sim.NewContext(f.readers...)
	return f.ctx, nil
}

// slots returns the auth and sign slot of the first reader with a token.
func (f *fixture) slots() (SlotID, SlotID) {
	f.t.Helper()
	list, err := f.m.SlotList(true)
	require.NoError(f.t, err)
	require.GreaterOrEqual(f.t, len(list), 2)
	return list[0], list[1]
}

func (f *fixture) open1(slot SlotID, rw bool) SessionHandle {
	f.t.Helper()
	flags := uint(ck.CKF_SERIAL_SESSION)
	if rw {
		flags |= ck.CKF_RW_SESSION
	}
	s, err := f.m.OpenSession(slot, flags)
	require.NoError(f.t, err)
	return s
}

func (f *fixture) login(s SessionHandle, pin string) {
	f.t.Helper()
	require.NoError(f.t, f.m.Login(s, ck.CKU_USER, []byte(pin)))
}

func (f *fixture) find(s SessionHandle, tmpl ...Attribute) []ObjectHandle {
	f.t.Helper()
	require.NoError(f.t, f.m.FindObjectsInit(s, tmpl))
	var all []ObjectHandle
	for {
		got, err := f.m.FindObjects(s, 2)
		require.NoError(f.t, err)
		if len(got) == 0 {
			break
		}
		all = append(all, got...)
	}
	require.NoError(f.t, f.m.FindObjectsFinal(s))
	return all
}

func (f *fixture) findClass(s SessionHandle, class uint) []ObjectHandle {
	return f.find(s, Attribute{Type: ck.CKA_CLASS, Value: ulong(class)})
}

func (f *fixture) attr(s SessionHandle, obj ObjectHandle, typ uint) []byte {
	f.t.Helper()
	req := []AttrRequest{{Type: typ}}
	require.NoError(f.t, f.m.GetAttributeValue(s, obj, req))
	req[0].HasBuf, req[0].BufLen = true, req[0].Len
	require.NoError(f.t, f.m.GetAttributeValue(s, obj, req))
	return req[0].Value
}

func (f *fixture) privKey(s SessionHandle) ObjectHandle {
	f.t.Helper()
	keys := f.findClass(s, ck.CKO_PRIVATE_KEY)
	require.Len(f.t, keys, 1)
	return keys[0]
}

func (f *fixture) sign(s SessionHandle, key ObjectHandle, mech MechanismType, data []byte) []byte {
	f.t.Helper()
	require.NoError(f.t, f.m.SignInit(s, Mechanism{Type: mech}, key))
	sig, n, err := f.m.Sign(s, data, OutBuf{Len: 256})
	require.NoError(f.t, err)
	require.Equal(f.t, uint(256), n)
	return sig
}

func pubOf(t testing.TB, der []byte) *rsa.PublicKey {
	t.Helper()
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert.PublicKey.(*rsa.PublicKey)
}

func rv(err error) string { return ck.Name(ck.RV(err)) }

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
