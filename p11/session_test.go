package p11

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestSessions(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	_, err := f.m.OpenSession(auth, 0)
	assert.Equal(t, "CKR_SESSION_PARALLEL_NOT_SUPPORTED", rv(err))
	_, err = f.m.OpenSession(999, ck.CKF_SERIAL_SESSION)
	assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(err))

	a1, a2, s1 := f.open1(auth, false), f.open1(auth, true), f.open1(sign, true)
	info, err := f.m.SessionInfo(a2)
	require.NoError(t, err)
	assert.Equal(t, SessionInfo{SlotID: auth, State: ck.CKS_RW_PUBLIC_SESSION, Flags: ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION}, info)
	ti, err := f.m.TokenInfo(auth)
	require.NoError(t, err)
	assert.Equal(t, uint(2), ti.SessionCount)
	assert.Equal(t, uint(1), ti.RwSessionCount)

	require.NoError(t, f.m.CloseSession(a1))
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(f.m.CloseSession(a1)))
	a3 := f.open1(auth, false)
	assert.NotContains(t, []SessionHandle{a1, a2, s1}, a3, "handles are never reused")

	require.NoError(t, f.m.CloseAllSessions(auth))
	for _, s := range []SessionHandle{a2, a3} {
		_, err := f.m.SessionInfo(s)
		assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(err))
	}
	_, err = f.m.SessionInfo(s1)
	assert.NoError(t, err, "the other token's sessions stay")
	ti, err = f.m.TokenInfo(auth)
	require.NoError(t, err)
	assert.Zero(t, ti.SessionCount)
}

func TestCardSwap(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	f.login(s, sim.DefaultAuthPIN)
	oldKey := f.privKey(s)
	oldCert := f.find(s)[0]
	oldSerial, err := f.m.TokenInfo(auth)
	require.NoError(t, err)

	other := genCard(t, "nosign")
	f.r.Insert(other)
	// The next look at the slots notices the swap: the old session is gone.
	list, err := f.m.SlotList(true)
	require.NoError(t, err)
	assert.Equal(t, []SlotID{auth, auth + 1}, list, "same reader, same slot IDs")
	_, err = f.m.SessionInfo(s)
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(err))

	s2 := f.open1(auth, false)
	newInfo, err := f.m.TokenInfo(auth)
	require.NoError(t, err)
	assert.NotEqual(t, oldSerial.SerialNumber, newInfo.SerialNumber)
	assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rv(f.m.GetAttributeValue(s2, oldCert, []AttrRequest{{Type: ck.CKA_VALUE}})))
	certs := f.find(s2, Attribute{ck.CKA_ID, []byte{1}}, Attribute{ck.CKA_CLASS, ulong(ck.CKO_CERTIFICATE)})
	require.Len(t, certs, 1)
	assert.NotEqual(t, oldCert, certs[0])
	assert.Equal(t, other.Certificates().AuthCert, f.attr(s2, certs[0], ck.CKA_VALUE))
	info, err := f.m.SessionInfo(s2)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State, "the new card is not logged in")
	f.login(s2, sim.DefaultAuthPIN)
	assert.Equal(t, "CKR_KEY_HANDLE_INVALID", rv(f.m.SignInit(s2, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, oldKey)))
}

func TestSwapSeenByFindObjects(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	f.r.Insert(genCard(t, "nosign"))
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(f.m.FindObjectsInit(s, nil)), "the old card's objects are never served")
}

func TestRemovalMidOperation(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	s := f.open1(auth, false)
	other := f.open1(sign, false)
	f.login(s, sim.DefaultAuthPIN)
	key := f.privKey(s)
	require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
	f.card.SetFault(sim.Fault{Kind: sim.FaultRemove, OnINS: true, INS: 0x2A})
	_, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
	assert.Equal(t, "CKR_DEVICE_REMOVED", rv(err))
	for _, id := range []SessionHandle{s, other} {
		_, err = f.m.SessionInfo(id)
		assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(err))
	}
	list, err := f.m.SlotList(true)
	require.NoError(t, err)
	assert.Empty(t, list)
	id, err := f.m.WaitForSlotEvent(true)
	require.NoError(t, err)
	assert.Contains(t, []SlotID{auth, sign}, id)

	// Put back: a new insertion, logged out.
	f.card.SetFault(sim.Fault{})
	f.r.Insert(f.card)
	s2 := f.open1(auth, false)
	info, err := f.m.SessionInfo(s2)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State)
}

// In ScopeSession a reset by another application logs the token out
// (TestOtherProgramLogsOut has ScopeOperation, where it does not).
func TestResetByAnotherApplication(t *testing.T) {
	f := newFixtureConfig(t, scopeConfig(ScopeSession, ScopeSession))
	auth, _ := f.slots()
	s := f.open1(auth, false)
	f.login(s, sim.DefaultAuthPIN)
	key := f.privKey(s)
	f.card.Reset() // another application reset the card: PINs are gone
	require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
	_, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
	assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(err))
	info, err := f.m.SessionInfo(s)
	require.NoError(t, err, "the session survives a reset")
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State)
	f.login(s, sim.DefaultAuthPIN)
	sig := f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("x"))
	assert.Len(t, sig, 256)

	// A reset striking in the middle of the conversation: retried once.
	f.card.SetFault(sim.Fault{Kind: sim.FaultReset, OnINS: true, INS: 0x20})
	_, err = f.m.TokenInfo(auth)
	require.NoError(t, err)
}

func TestDeviceErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault sim.Fault
	}{
		{"timeout", sim.Fault{Kind: sim.FaultSilent, OnINS: true, INS: 0x2A}},
		{"garbage", sim.Fault{Kind: sim.FaultGarbage, OnINS: true, INS: 0x2A}},
		{"truncated", sim.Fault{Kind: sim.FaultTruncate, OnINS: true, INS: 0x2A}},
		{"odd status", sim.Fault{Kind: sim.FaultWrongSW, OnINS: true, INS: 0x2A}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			auth, _ := f.slots()
			s := f.open1(auth, false)
			f.login(s, sim.DefaultAuthPIN)
			key := f.privKey(s)
			require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
			f.card.SetFault(tt.fault)
			_, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
			assert.Equal(t, "CKR_DEVICE_ERROR", rv(err))
			// The operation ended and the module keeps working.
			_, _, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(err))
			f.card.SetFault(sim.Fault{})
			if info, err := f.m.SessionInfo(s); err == nil && info.State == ck.CKS_RO_PUBLIC_SESSION {
				f.login(s, sim.DefaultAuthPIN)
			}
			assert.Len(t, f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("x")), 256)
		})
	}
}

func TestConcurrentSigning(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	certs := f.card.Certificates()
	login := f.open1(auth, false)
	f.login(login, sim.DefaultAuthPIN)
	loginS := f.open1(sign, false)
	f.login(loginS, sim.DefaultSignPIN)

	const workers, rounds = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot, cert := auth, certs.AuthCert
			if w%2 == 1 {
				slot, cert = sign, certs.SignCert
			}
			pub := pubOf(t, cert)
			s, err := f.m.OpenSession(slot, ck.CKF_SERIAL_SESSION)
			if err != nil {
				errs <- err
				return
			}
			defer f.m.CloseSession(s)
			if err := f.m.FindObjectsInit(s, []Attribute{{ck.CKA_CLASS, ulong(ck.CKO_PRIVATE_KEY)}}); err != nil {
				errs <- err
				return
			}
			keys, err := f.m.FindObjects(s, 5)
			f.m.FindObjectsFinal(s)
			if err != nil || len(keys) != 1 {
				errs <- fmt.Errorf("worker %d: keys %v: %v", w, keys, err)
				return
			}
			for i := range rounds {
				msg := []byte(fmt.Sprintf("worker %d round %d", w, i))
				if err := f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, keys[0]); err != nil {
					errs <- err
					return
				}
				sig, _, err := f.m.Sign(s, msg, OutBuf{Len: 256})
				if err != nil {
					errs <- err
					return
				}
				sum := sha256.Sum256(msg)
				errs <- rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
				if _, err := f.m.TokenInfo(slot); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, workers*rounds, n)
	assert.GreaterOrEqual(t, f.card.Stats().Signatures, uint64(workers*rounds))
}

func TestTwoCardsNeverMix(t *testing.T) {
	f := newFixture(t)
	r2 := sim.NewReader("Sim Reader 01 00")
	card2 := genCard(t, "nosign")
	r2.Insert(card2)
	f.readers = append(f.readers, r2)
	require.NoError(t, f.m.Finalize())
	require.NoError(t, f.m.Initialize(InitArgs{}))
	list, err := f.m.SlotList(true)
	require.NoError(t, err)
	require.Len(t, list, 4)

	serials := map[string]bool{}
	for i, c := range []*sim.Card{f.card, card2} {
		slot := list[2*i]
		info, err := f.m.TokenInfo(slot)
		require.NoError(t, err)
		serials[info.SerialNumber] = true
		s := f.open1(slot, false)
		f.login(s, sim.DefaultAuthPIN)
		sig := f.sign(s, f.privKey(s), ck.CKM_SHA256_RSA_PKCS, []byte("m"))
		sum := sha256.Sum256([]byte("m"))
		assert.NoError(t, rsa.VerifyPKCS1v15(pubOf(t, c.Certificates().AuthCert), crypto.SHA256, sum[:], sig), "card %d", i)
		cert := f.find(s, Attribute{ck.CKA_CLASS, ulong(ck.CKO_CERTIFICATE)}, Attribute{ck.CKA_ID, []byte{1}})
		require.Len(t, cert, 1)
		assert.Equal(t, c.Certificates().AuthCert, f.attr(s, cert[0], ck.CKA_VALUE))
	}
	assert.Len(t, serials, 2)
}

func TestLogoutEndsBothLogins(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	sa, ss := f.open1(auth, false), f.open1(sign, false)
	f.login(sa, sim.DefaultAuthPIN)
	f.login(ss, sim.DefaultSignPIN)
	require.NoError(t, f.m.Logout(sa))
	info, err := f.m.SessionInfo(ss)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), info.State, "the card cannot keep one PIN and drop the other")
	assert.Empty(t, f.findClass(ss, ck.CKO_PRIVATE_KEY), "the sign key is gone with the login")
}

func TestFinalizeDuringActivity(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	s := f.open1(auth, false)
	f.login(s, sim.DefaultAuthPIN)
	key := f.privKey(s)
	allowed := map[string]bool{"CKR_OK": true, "CKR_CRYPTOKI_NOT_INITIALIZED": true, "CKR_SESSION_HANDLE_INVALID": true,
		"CKR_DEVICE_REMOVED": true, "CKR_USER_NOT_LOGGED_IN": true, "CKR_OPERATION_NOT_INITIALIZED": true, "CKR_TOKEN_NOT_PRESENT": true}
	var wg sync.WaitGroup
	results := make(chan string, 1000)
	start := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 20 {
				var err error
				switch w {
				case 0:
					_, err = f.m.SlotList(true)
				case 1:
					_, err = f.m.TokenInfo(sign)
				case 2:
					if err = f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key); err == nil {
						_, _, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
					}
				case 3:
					_, err = f.m.WaitForSlotEvent(true)
					if rv(err) == "CKR_NO_EVENT" {
						err = nil
					}
				}
				results <- rv(err)
			}
		}()
	}
	close(start)
	require.NoError(t, f.m.Finalize())
	wg.Wait()
	close(results)
	for r := range results {
		assert.True(t, allowed[r], r)
	}
	// Everything was released: a new Initialize works from scratch.
	require.NoError(t, f.m.Initialize(InitArgs{}))
	list, err := f.m.SlotList(true)
	require.NoError(t, err)
	assert.Len(t, list, 2)
}
