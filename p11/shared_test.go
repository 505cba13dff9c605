package p11

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// These tests play "another program" by sending raw APDUs to the same
// simulated card between the module's calls, the way any PC/SC client
// can between two of the module's transactions.

// other sends one APDU (hex) to the card as another program and returns
// the status word as four hex digits.
func (f *fixture) other(cmd string) string {
	f.t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(cmd, " ", ""))
	require.NoError(f.t, err)
	r := f.card.Process(b)
	return strings.ToUpper(hex.EncodeToString(r[len(r)-2:]))
}

// Another program's APDUs, as hex, built by hand from the facts the card
// layer's client defines (cardos/jpki/ids.go, cardos/pkcs1).
var (
	rawSelectJPKI = rawSelectAID(jpki.AID)
	rawSelectISD  = rawSelectAID(jpki.AIDISD)
	rawSelectText = rawSelectAID(jpki.AIDTextAP)
	rawSignInfo   = hex.EncodeToString(pkcs1.DigestInfo(crypto.SHA256, make([]byte, 32)))

	efAuthKey  = efHex(jpki.KeyEF(cardos.AuthKey))
	efAuthPIN  = efHex(jpki.PINEF(cardos.AuthKey))
	efSignKey  = efHex(jpki.KeyEF(cardos.SignKey))
	efSignPIN  = efHex(jpki.PINEF(cardos.SignKey))
	efSignCert = efHex(jpki.CertEF(cardos.SignCert))
)

// rawSelectAID is SELECT by DF name without FCI (00 A4 04 0C).
func rawSelectAID(aid []byte) string { return fmt.Sprintf("00A4040C%02X%X", len(aid), aid) }

// rawSelectEF is SELECT EF under the current DF without FCI (00 A4 02 0C).
func rawSelectEF(fid string) string { return "00A4020C02" + fid }

// efHex spells a FID as the raw APDUs do.
func efHex(fid uint16, err error) string {
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%04X", fid)
}

// pinLessSign is another program asking the card to sign with the key in
// EF fid without any VERIFY: 9000 means the card was left verified.
func (f *fixture) pinLessSign(fid string) string {
	f.t.Helper()
	require.Equal(f.t, "9000", f.other(rawSelectJPKI))
	require.Equal(f.t, "9000", f.other(rawSelectEF(fid)))
	return f.other(fmt.Sprintf("802A0080%02X%s00", len(rawSignInfo)/2, rawSignInfo))
}

// rawVerify is VERIFY with pin for the selected PIN EF, as hex.
func rawVerify(pin string) string {
	return fmt.Sprintf("00200080%02X%s", len(pin), hex.EncodeToString([]byte(pin)))
}

// eachScope runs fn on a fresh fixture with both tokens in each PIN scope.
func eachScope(t *testing.T, fn func(t *testing.T, f *fixture, scope PINScope)) {
	for _, scope := range []PINScope{ScopeOperation, ScopeSession} {
		t.Run(scope.String(), func(t *testing.T) {
			fn(t, newFixtureConfig(t, scopeConfig(scope, scope)), scope)
		})
	}
}

func scopeConfig(auth, sign PINScope) *Config {
	c := DefaultConfig()
	c.AuthPINScope, c.SignPINScope = auth, sign
	return &c
}

// certPub returns the public key of a DER certificate.
func certPub(t *testing.T, der []byte) *rsa.PublicKey {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c.PublicKey.(*rsa.PublicKey)
}

// A correct PIN never spends the other PIN's tries, whatever another
// program selected since the module's last transaction.
func TestCorrectPINAfterOtherProgramSelected(t *testing.T) {
	for _, scope := range []PINScope{ScopeOperation, ScopeSession} {
		for _, other := range []string{efAuthPIN, efSignPIN, efAuthKey, efSignKey, efSignCert} {
			t.Run(scope.String()+"/other selected "+other, func(t *testing.T) {
				f := newFixtureConfig(t, scopeConfig(scope, scope))
				auth, sign := f.slots()
				_, err := f.m.TokenInfo(auth) // selects EF 0018 on the card
				require.NoError(t, err)
				f.other(rawSelectJPKI)
				f.other(rawSelectEF(other))
				f.login(f.open1(auth, false), sim.DefaultAuthPIN)
				f.other(rawSelectEF(other))
				f.login(f.open1(sign, false), sim.DefaultSignPIN)
				assert.Equal(t, 3, f.card.TriesLeft(1))
				assert.Equal(t, 5, f.card.TriesLeft(2))
			})
		}
	}
}

// A signature is always made by the key of the session's token, even when
// another program selected the other key (and verified its PIN) between
// the module's calls.
func TestSignatureByTheRightKey(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		auth, _ := f.slots()
		s := f.open1(auth, false)
		f.login(s, sim.DefaultAuthPIN)
		key := f.privKey(s)
		// Another program logs in to the sign key and leaves it selected.
		f.other(rawSelectJPKI)
		f.other(rawSelectEF(efSignPIN))
		require.Equal(t, "9000", f.other(rawVerify(sim.DefaultSignPIN)))
		require.Equal(t, "9000", f.other(rawSelectEF(efSignKey)))
		sig := f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("data"))
		sum := sha256.Sum256([]byte("data"))
		certs := f.card.Certificates()
		require.NoError(t, rsa.VerifyPKCS1v15(certPub(t, certs.AuthCert), crypto.SHA256, sum[:], sig), "signed by the auth key")
		require.Error(t, rsa.VerifyPKCS1v15(certPub(t, certs.SignCert), crypto.SHA256, sum[:], sig), "not by the sign key")
	})
}

// Another program's logout (it selects another applet) or a card reset:
// in ScopeSession the token is logged out — CKR_USER_NOT_LOGGED_IN, a
// public session, a new login works — never a device error; in
// ScopeOperation the module verifies the held PIN again and signs.
func TestOtherProgramLogsOut(t *testing.T) {
	for _, scope := range []PINScope{ScopeOperation, ScopeSession} {
		for _, how := range []string{"select ISD", "select text AP", "card reset"} {
			t.Run(scope.String()+"/"+how, func(t *testing.T) {
				f := newFixtureConfig(t, scopeConfig(scope, scope))
				auth, _ := f.slots()
				s := f.open1(auth, false)
				f.login(s, sim.DefaultAuthPIN)
				key := f.privKey(s)
				f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("first"))
				switch how {
				case "select ISD":
					f.other(rawSelectISD)
				case "select text AP":
					f.other(rawSelectText)
				case "card reset":
					f.card.Reset()
				}
				require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
				_, _, err := f.m.Sign(s, []byte("second"), OutBuf{Len: 256})
				info, ierr := f.m.SessionInfo(s)
				require.NoError(t, ierr)
				if scope == ScopeOperation {
					require.NoError(t, err)
					assert.Equal(t, uint(ck.CKS_RO_USER_FUNCTIONS), info.State)
					return
				}
				assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err))
				assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State, "C_GetSessionInfo agrees")
				f.login(s, sim.DefaultAuthPIN)
				f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("third"))
				assert.Equal(t, 3, f.card.TriesLeft(1))
			})
		}
	}
}

// The no-PIN window: in ScopeOperation the card refuses a PIN-less SIGN
// from another program after every call of the module; in ScopeSession
// it accepts one while the token is logged in (the documented trade-off).
func TestNoPINWindow(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		auth, sign := f.slots()
		want := "6982"
		if scope == ScopeSession {
			want = "9000"
		}
		s := f.open1(auth, false)
		f.login(s, sim.DefaultAuthPIN)
		assert.Equal(t, want, f.pinLessSign(efAuthKey), "after the auth login")
		f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("x"))
		assert.Equal(t, want, f.pinLessSign(efAuthKey), "after an auth signature")
		ss := f.open1(sign, false)
		f.login(ss, sim.DefaultSignPIN)
		assert.Equal(t, want, f.pinLessSign(efSignKey), "after the sign login")
		f.sign(ss, f.privKey(ss), ck.CKM_SHA256_RSA_PKCS, []byte("x"))
		assert.Equal(t, want, f.pinLessSign(efSignKey), "after a sign signature")
		require.NoError(t, f.m.Logout(s))
		assert.Equal(t, "6982", f.pinLessSign(efAuthKey), "after logout")
		assert.Equal(t, "6982", f.pinLessSign(efSignKey), "after logout")
	})
}

// A held PIN is not sent once the card shows a wrong try since the login
// (another program, or another process holding an old PIN); a held PIN
// the card refuses (changed elsewhere) is sent once and never again.
func TestHeldPINNeverBurnsMoreThanOneTry(t *testing.T) {
	t.Run("a wrong try since the login", func(t *testing.T) {
		f := newFixture(t)
		auth, _ := f.slots()
		s := f.open1(auth, false)
		f.login(s, sim.DefaultAuthPIN)
		key := f.privKey(s)
		f.other(rawSelectJPKI)
		f.other(rawSelectEF(efAuthPIN))
		require.Equal(t, "63C2", f.other(rawVerify("0000")))
		stats := f.card.Stats()
		require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
		_, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
		assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err))
		assert.Equal(t, 2, f.card.TriesLeft(1), "no try spent by the module")
		after := f.card.Stats()
		assert.Equal(t, stats.Verifies, after.Verifies, "no VERIFY with a PIN was sent")
		assert.Equal(t, stats.ByINS[0x20]+1, after.ByINS[0x20], "only the empty VERIFY (the tries query)")
		info, err := f.m.SessionInfo(s)
		require.NoError(t, err)
		assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State)
	})
	t.Run("the PIN changed elsewhere", func(t *testing.T) {
		f := newFixture(t)
		auth, _ := f.slots()
		s := f.open1(auth, false)
		f.login(s, sim.DefaultAuthPIN)
		key := f.privKey(s)
		f.other(rawSelectJPKI)
		f.other(rawSelectEF(efAuthPIN))
		require.Equal(t, "9000", f.other(rawVerify(sim.DefaultAuthPIN)))
		require.Equal(t, "9000", f.other("00240180"+fmt.Sprintf("%02X", 4)+hex.EncodeToString([]byte("9999"))))
		for i := 0; i < 3; i++ {
			err := f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key)
			if i == 0 {
				require.NoError(t, err)
				_, _, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
			}
			assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err), "try %d", i)
		}
		assert.Equal(t, 2, f.card.TriesLeft(1), "exactly one try spent by the held PIN, never more")
		f.login(s, "9999")
		assert.Equal(t, 3, f.card.TriesLeft(1))
	})
}

// Another thread opens a session and logs in while CloseSession closes
// the token's last session: its login must survive.
func TestCloseSessionRaceDeterministic(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	f.login(s, sim.DefaultAuthPIN)
	var other SessionHandle
	testHookClosing = func() {
		testHookClosing = nil
		other = f.open1(auth, false)
		assert.Equal(t, "CKR_USER_ALREADY_LOGGED_IN", rv(f.m.Login(other, ck.CKU_USER, []byte(sim.DefaultAuthPIN))))
	}
	t.Cleanup(func() { testHookClosing = nil })
	require.NoError(t, f.m.CloseSession(s))
	info, err := f.m.SessionInfo(other)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_USER_FUNCTIONS), info.State, "the other thread's login survives")
	require.NoError(t, f.m.CloseSession(other))
	assert.Equal(t, 3, f.card.TriesLeft(1))
}

// Several threads opening and closing sessions while logging in: closing
// one thread's last session never logs out another thread's fresh login
// (the login is checked and undone under the same lock a login holds).
func TestCloseSessionRace(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		auth, _ := f.slots()
		var wg sync.WaitGroup
		var mu sync.Mutex
		bad := 0
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 150; i++ {
					s, err := f.m.OpenSession(auth, ck.CKF_SERIAL_SESSION)
					if err != nil {
						panic(err)
					}
					err = f.m.Login(s, ck.CKU_USER, []byte(sim.DefaultAuthPIN))
					if err != nil && ck.RV(err) != ck.CKR_USER_ALREADY_LOGGED_IN {
						panic(err)
					}
					info, err := f.m.SessionInfo(s)
					if err != nil {
						panic(err)
					}
					if info.State != ck.CKS_RO_USER_FUNCTIONS {
						mu.Lock()
						bad++
						mu.Unlock()
					}
					if err := f.m.CloseSession(s); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, bad, "sessions logged out right after their own login")
		assert.Equal(t, 3, f.card.TriesLeft(1))
	})
}

// Idle cost: once the token was listed, C_GetTokenInfo costs no APDU
// however often and however late it is asked; the counter is read
// again when an application opens the token's first session and it is
// older than triesMaxAge, so a try another program spent shows then.
func TestIdleTokenInfoCostsNoAPDU(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	clock := time.Now()
	now = func() time.Time { return clock }
	t.Cleanup(func() { now = time.Now })
	for _, slot := range []SlotID{auth, sign} {
		_, err := f.m.TokenInfo(slot)
		require.NoError(t, err)
	}
	before := f.card.Stats().APDUs
	for i := 0; i < 100; i++ {
		clock = clock.Add(time.Minute)
		for _, slot := range []SlotID{auth, sign} {
			_, err := f.m.TokenInfo(slot)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, before, f.card.Stats().APDUs, "100 idle minutes of polling cost no APDU")

	// Another program spends a try; our first session on the token makes
	// the next C_GetTokenInfo show it.
	f.other(rawSelectJPKI)
	f.other(rawSelectEF(efAuthPIN))
	require.Equal(t, "63C2", f.other(rawVerify("0000")))
	s := f.open1(auth, false)
	info, err := f.m.TokenInfo(auth)
	require.NoError(t, err)
	assert.NotZero(t, info.Flags&ck.CKF_USER_PIN_COUNT_LOW, "the spent try shows when the token is used")
	// A second session, opened right away, reads nothing more.
	before = f.card.Stats().APDUs
	f.open1(auth, false)
	_, err = f.m.TokenInfo(auth)
	require.NoError(t, err)
	assert.Equal(t, before, f.card.Stats().APDUs)
	f.login(s, sim.DefaultAuthPIN)
	assert.Equal(t, 3, f.card.TriesLeft(1))
}

// Whether re-selecting the JPKI applet drops a verified PIN is unknown
// on real cards (cardos/jpki/FACTS.md §9). The module selects the applet in every
// transaction: in ScopeOperation everything works under both answers;
// in ScopeSession a card that drops the PIN makes the signature answer
// CKR_USER_NOT_LOGGED_IN (never a device error, never a try spent).
func TestReselectClearsPINs(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		q := f.card.Quirks()
		q.ReselectClearsPINs = true
		f.card.SetQuirks(q)
		auth, sign := f.slots()
		s := f.open1(auth, false)
		f.login(s, sim.DefaultAuthPIN)
		key := f.privKey(s)
		require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
		_, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
		ss := f.open1(sign, false)
		lerr := f.m.Login(ss, ck.CKU_USER, []byte(sim.DefaultSignPIN))
		if scope == ScopeOperation {
			require.NoError(t, err)
			require.NoError(t, lerr)
			certs := f.find(ss, Attribute{Type: ck.CKA_CLASS, Value: ulong(ck.CKO_CERTIFICATE)}, Attribute{Type: ck.CKA_ID, Value: []byte{2}})
			require.Len(t, certs, 1)
			assert.Equal(t, f.card.Certificates().SignCert, f.attr(ss, certs[0], ck.CKA_VALUE), "the sign certificate is read with the held password")
			f.sign(ss, f.privKey(ss), ck.CKM_SHA256_RSA_PKCS, []byte("y"))
		} else {
			assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err))
			require.NoError(t, lerr, "the login itself (VERIFY and certificate header in one transaction) works")
		}
		assert.Equal(t, 3, f.card.TriesLeft(1))
		assert.Equal(t, 5, f.card.TriesLeft(2))
	})
}

// A program that exits without C_Finalize (pkcs11-tool after
// --change-pin): AtExit logs a ScopeSession login out on the card, and
// costs nothing in ScopeOperation, where the card is never left verified.
func TestAtExitLogsSessionScopeOut(t *testing.T) {
	eachScope(t, func(t *testing.T, f *fixture, scope PINScope) {
		auth, _ := f.slots()
		s := f.open1(auth, true)
		f.login(s, sim.DefaultAuthPIN)
		require.NoError(t, f.m.SetPIN(s, []byte(sim.DefaultAuthPIN), []byte("5678")))
		require.NoError(t, f.m.SetPIN(s, []byte("5678"), []byte(sim.DefaultAuthPIN)))
		before := f.card.Stats().APDUs
		f.m.AtExit()
		if scope == ScopeOperation {
			assert.Equal(t, before, f.card.Stats().APDUs, "nothing to do")
		}
		assert.Equal(t, "6982", f.pinLessSign(efAuthKey), "the card is not left verified")
		assert.Equal(t, 3, f.card.TriesLeft(1))
	})
}

// Leaving the applet when the GP ISD cannot be selected: the text AP is
// selected instead, then the JPKI AP again; when neither can be, the
// transaction ends with a card reset (the card then shows its power-on
// applet). Either way the card is not left verified.
func TestLeaveFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults int    // how many SELECTs by DF name at the end are refused
		applet string // the applet the leave selects (stats)
		resets bool
	}{
		{"ISD refused: the text AP", 1, "text", false},
		{"ISD and text AP refused: a reset", 2, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t) // scope operation: every signature ends by leaving the applet
			auth, _ := f.slots()
			s := f.open1(auth, false)
			f.login(s, sim.DefaultAuthPIN)
			key := f.privKey(s)
			require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
			// SELECT AP, SELECT PIN EF, tries, VERIFY, SELECT key EF, SIGN: the
			// seventh command is the SELECT of the ISD, the eighth the text AP's.
			f.card.SetFault(sim.Fault{Kind: sim.FaultWrongSW, After: 6, SW: apdu.SWFileNotFound, Repeat: tc.faults > 1})
			before := f.card.Stats()
			sig, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
			f.card.SetFault(sim.Fault{Kind: sim.FaultNone})
			require.NoError(t, err, "the signature itself succeeded")
			assert.Len(t, sig, 256)
			after := f.card.Stats()
			if tc.applet != "" {
				assert.Equal(t, before.Selects[tc.applet]+1, after.Selects[tc.applet], "selected %s", tc.applet)
				assert.Equal(t, "9000", f.other(rawSelectEF(efAuthPIN)), "the JPKI AP is the current applet again")
			}
			assert.Equal(t, tc.resets, after.Resets > before.Resets, "card reset")
			assert.Equal(t, "6982", f.pinLessSign(efAuthKey), "the card is not left verified")
			assert.Equal(t, 3, f.card.TriesLeft(1))
		})
	}
}
