package faults

import (
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// A card removed while C_Sign runs: the call that notices says
// CKR_DEVICE_REMOVED, the session is gone, and all works once it is back.
func TestRemovedDuringSign(t *testing.T) {
	f := newFx(t)
	f.init()
	s := f.open(f.auth)
	require.NoError(t, f.login(s, f.auth, false))
	require.NoError(t, ctx.SignInit(s, mech, f.key(s)))
	f.do("fault remove,ins=" + insSign)
	_, err := ctx.Sign(s, []byte("interrupted"))
	assert.Equal(t, ckr(pkcs11.CKR_DEVICE_REMOVED), rv(err))
	_, err = ctx.GetSessionInfo(s)
	assert.Equal(t, ckr(pkcs11.CKR_SESSION_HANDLE_INVALID), rv(err))
	list, err := ctx.GetSlotList(true)
	require.NoError(t, err)
	assert.Empty(t, list, "no token while the card is out")
	_, err = ctx.OpenSession(f.auth, pkcs11.CKF_SERIAL_SESSION)
	assert.Equal(t, ckr(pkcs11.CKR_TOKEN_NOT_PRESENT), rv(err))
	f.do("insert")
	f.recovered(f.state, false)
	f.done()
}

// A card removed while VERIFY runs: the command never reached the card, no
// try is spent, and the module does not send the PIN again by itself.
func TestRemovedDuringLogin(t *testing.T) {
	for _, token := range []string{"auth", "sign"} {
		t.Run(token, func(t *testing.T) {
			f := newFx(t)
			f.init()
			slot := f.auth
			if token == "sign" {
				slot = f.sign
			}
			s := f.open(slot)
			f.do("fault remove,ins=" + insVerify)
			err := f.login(s, slot, false)
			f.wantVerifies-- // the removed VERIFY never reached the card
			assert.Equal(t, ckr(pkcs11.CKR_DEVICE_REMOVED), rv(err))
			f.do("insert")
			f.recovered(f.state, false)
			f.done()
		})
	}
}

// A card removed while the certificates are read (READ BINARY), at the
// first look at the tokens and after the sign login (sign certificate).
func TestRemovedDuringCertificateRead(t *testing.T) {
	t.Run("auth certificate at start", func(t *testing.T) {
		f := newFx(t)
		f.do("fault remove,ins=" + insRead)
		require.NoError(t, ctx.Initialize())
		f.initialized = true
		t.Cleanup(func() { _ = ctx.Finalize() })
		list, err := ctx.GetSlotList(true)
		require.NoError(t, err, "C_GetSlotList never fails because of the card")
		for _, slot := range list {
			_, _ = ctx.GetTokenInfo(slot) // may see the card leave; must not crash
		}
		f.do("insert")
		f.recovered(f.state, false)
		f.done()
	})
	t.Run("sign certificate after login", func(t *testing.T) {
		f := newFx(t)
		f.init()
		s := f.open(f.sign)
		f.do("fault remove,ins=" + insRead + ",repeat")
		err := f.login(s, f.sign, false)
		if err == nil {
			// the login itself succeeded; the certificate read fails when objects are listed
			require.NoError(t, ctx.FindObjectsInit(s, nil))
			_, _, err = ctx.FindObjects(s, 10)
			_ = ctx.FindObjectsFinal(s)
		}
		assert.Contains(t, []string{ckr(pkcs11.CKR_DEVICE_REMOVED), ckr(pkcs11.CKR_SESSION_HANDLE_INVALID)}, rv(err),
			"the login or the first object listing sees the card leave")
		f.do("fault none", "insert")
		f.recovered(f.state, false)
		f.done()
	})
}

// Another application resets the card between login and signature: the
// tokens are logged out (CKR_USER_NOT_LOGGED_IN), the module never re-sends
// the PIN, and a new login works.
func TestResetBetweenLoginAndSign(t *testing.T) {
	f := newFx(t)
	f.init()
	s := f.open(f.auth)
	require.NoError(t, f.login(s, f.auth, false))
	key := f.key(s)
	f.do("reset")
	err := ctx.SignInit(s, mech, key)
	if err == nil {
		_, err = ctx.Sign(s, []byte("after reset"))
	}
	assert.Equal(t, ckr(pkcs11.CKR_USER_NOT_LOGGED_IN), rv(err))
	info, err := ctx.GetSessionInfo(s)
	require.NoError(t, err, "a reset keeps the session")
	assert.Equal(t, uint(pkcs11.CKS_RO_PUBLIC_SESSION), info.State, "but logs it out")
	require.NoError(t, f.login(s, f.auth, false))
	sig, err := f.signWith(s, "after relogin")
	require.NoError(t, err)
	f.verify(f.state, 1, "after relogin", sig)
	f.done()
}

// Reset in the middle of the signature itself (the SIGN command is lost).
func TestResetDuringSign(t *testing.T) {
	f := newFx(t)
	f.init()
	s := f.open(f.sign)
	require.NoError(t, f.login(s, f.sign, false))
	require.NoError(t, ctx.SignInit(s, mech, f.key(s)))
	f.do("fault reset,ins=" + insSign)
	_, err := ctx.Sign(s, []byte("x"))
	assert.Equal(t, ckr(pkcs11.CKR_USER_NOT_LOGGED_IN), rv(err))
	f.recovered(f.state, false)
	f.done()
}

// The card is swapped for another one in the same reader: the old card's
// sessions and objects are gone, and the new card's objects are its own.
func TestCardSwapped(t *testing.T) {
	f := newFx(t)
	f.init()
	s := f.open(f.auth)
	require.NoError(t, f.login(s, f.auth, false))
	oldObjs := f.find(s)
	require.NotEmpty(t, oldObjs)
	oldCert := f.find(s, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{1}))
	require.Len(t, oldCert, 1)
	f.do("swap " + f.stateB)
	_, err := ctx.GetAttributeValue(s, oldCert[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	assert.Equal(t, ckr(pkcs11.CKR_DEVICE_REMOVED), rv(err), "the first call after the swap")
	_, err = ctx.GetAttributeValue(s, oldCert[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	assert.Equal(t, ckr(pkcs11.CKR_SESSION_HANDLE_INVALID), rv(err))

	auth, _ := f.slots()
	s2 := f.open(auth)
	// old object handles never name an object of the new card
	for _, h := range oldObjs {
		_, err := ctx.GetAttributeValue(s2, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil)})
		assert.Equal(t, ckr(pkcs11.CKR_OBJECT_HANDLE_INVALID), rv(err), "old handle %d", h)
	}
	certB := f.find(s2, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{1}))
	require.Len(t, certB, 1)
	attrs, err := ctx.GetAttributeValue(s2, certB[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	require.NoError(t, err)
	b, err := sim.Open(f.stateB, sim.Options{})
	require.NoError(t, err)
	assert.Equal(t, b.Certificates().AuthCert, attrs[0].Value, "the new card's own certificate")
	// the new card is not logged in: the old card's login does not carry over
	key := f.find(s2, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY))
	assert.Empty(t, key, "no private key visible before logging in to the new card")
	require.NoError(t, ctx.CloseSession(s2))
	f.recovered(f.stateB, true)
	f.done()
}

// The reader is unplugged (and plugged back).
func TestReaderUnplugged(t *testing.T) {
	f := newFx(t)
	f.init()
	s := f.open(f.auth)
	require.NoError(t, f.login(s, f.auth, false))
	require.NoError(t, ctx.SignInit(s, mech, f.key(s)))
	f.do("unplug")
	_, err := ctx.Sign(s, []byte("unplugged"))
	assert.Equal(t, ckr(pkcs11.CKR_DEVICE_REMOVED), rv(err), "the signature notices the reader is gone")
	_, err = ctx.GetSessionInfo(s)
	assert.Equal(t, ckr(pkcs11.CKR_SESSION_HANDLE_INVALID), rv(err))
	list, err := ctx.GetSlotList(true)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = ctx.GetTokenInfo(f.auth)
	assert.Contains(t, []string{ckr(pkcs11.CKR_TOKEN_NOT_PRESENT), ckr(pkcs11.CKR_SLOT_ID_INVALID)}, rv(err))
	f.do("plug")
	f.recovered(f.state, false)

	// unplugged while idle: the next slot look-up notices, the session is gone
	s = f.open(f.auth)
	f.do("unplug")
	list, err = ctx.GetSlotList(false)
	require.NoError(t, err)
	assert.Empty(t, list, "the reader's slots are gone")
	_, err = ctx.GetSessionInfo(s)
	assert.Equal(t, ckr(pkcs11.CKR_SESSION_HANDLE_INVALID), rv(err))
	f.do("plug")
	f.recovered(f.state, false)
	f.done()
}

// A card that answers garbage, half an answer, a wrong status word or
// nothing at all, at SIGN and at VERIFY: CKR_DEVICE_ERROR (or the card is
// treated as gone), never a crash, never a second VERIFY, and the next try
// works.
func TestCorruptAnswers(t *testing.T) {
	faults := []struct{ name, spec string }{
		{"garbage", "garbage"}, {"truncate", "truncate"}, {"wrong-sw-6F00", "wrong-sw"},
		{"wrong-sw-6581", "wrong-sw,sw=6581"}, {"wrong-sw-6982", "wrong-sw,sw=6982"}, {"silent", "silent"},
	}
	for _, fl := range faults {
		for _, at := range []string{"sign", "verify"} {
			t.Run(fl.name+"-at-"+at, func(t *testing.T) {
				f := newFx(t)
				f.init()
				s := f.open(f.auth)
				// 6982 (security status not satisfied) is the card saying
				// the PIN is not verified: the module believes it.
				want := ckr(pkcs11.CKR_DEVICE_ERROR)
				if fl.name == "wrong-sw-6982" {
					want = ckr(pkcs11.CKR_USER_NOT_LOGGED_IN)
				}
				if at == "sign" {
					require.NoError(t, f.login(s, f.auth, false))
					require.NoError(t, ctx.SignInit(s, mech, f.key(s)))
					f.do("fault " + fl.spec + ",ins=" + insSign)
					_, err := ctx.Sign(s, []byte("corrupt"))
					assert.Equal(t, want, rv(err))
				} else {
					f.do("fault " + fl.spec + ",ins=" + insVerify)
					err := f.login(s, f.auth, false)
					if fl.name == "silent" {
						f.wantVerifies-- // a silent card never executed it
					}
					assert.Equal(t, want, rv(err), "never CKR_PIN_INCORRECT: the PIN may be right")
				}
				_, err := ctx.GetSessionInfo(s)
				require.NoError(t, err, "a corrupt answer does not close the session")
				f.recovered(f.state, false)
				f.done()
			})
		}
	}
}

// Faults during C_Initialize's first look at the card and repeated faults:
// slot and token calls answer, the module stays usable.
func TestRepeatedFaultsEverywhere(t *testing.T) {
	for _, spec := range []string{"garbage,repeat", "truncate,repeat", "wrong-sw,repeat", "silent,repeat"} {
		t.Run(spec, func(t *testing.T) {
			f := newFx(t)
			f.do("fault " + spec)
			require.NoError(t, ctx.Initialize())
			f.initialized = true
			t.Cleanup(func() { _ = ctx.Finalize() })
			list, err := ctx.GetSlotList(false)
			require.NoError(t, err)
			for _, slot := range list {
				_, _ = ctx.GetTokenInfo(slot)
				if s, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION); err == nil {
					_ = ctx.Login(s, pkcs11.CKU_USER, "1234") // may reach the broken card
					_ = ctx.CloseSession(s)
				}
			}
			f.do("fault none")
			// the logins above may or may not have reached the card: count what it saw
			f.wantVerifies = f.stats(f.state).Verifies
			f.recovered(f.state, false)
			f.done()
		})
	}
}

// Deliberate wrong PIN (well-formed): exactly one try is spent, and the
// module never spends another one by itself.
func TestWrongPINSpendsExactlyOneTry(t *testing.T) {
	f := newFx(t)
	f.init()
	s := f.open(f.auth)
	err := ctx.Login(s, pkcs11.CKU_USER, "9999")
	f.wantVerifies++
	f.wrongPINTries++
	assert.Equal(t, ckr(pkcs11.CKR_PIN_INCORRECT), rv(err))
	// malformed PINs never reach the card
	for _, pin := range []string{"", "123", "12345", "abcd", "12 4", "１２３４"} {
		err := ctx.Login(s, pkcs11.CKU_USER, pin)
		assert.Equal(t, ckr(pkcs11.CKR_PIN_INCORRECT), rv(err), "PIN %q", pin)
	}
	f.done()
	// the right PIN restores the counter
	require.NoError(t, f.login(s, f.auth, false))
	f.wrongPINTries = 0
	f.done()
}

// The default PIN scope "operation": the card is verified only inside
// the module's own transactions, so a reset or another program's logout
// between login and signature changes nothing for the application, a
// fault during the signature costs no try, and the held PIN is never
// sent after a refusal.
func TestOperationScope(t *testing.T) {
	// signing returns an operation-scope scenario logged in to the token
	// of slot (f.auth or f.sign, chosen by pick) with C_SignInit done.
	signing := func(t *testing.T, pick func(f *fx) uint) (*fx, pkcs11.SessionHandle) {
		f := newFxScope(t, "operation")
		f.init()
		slot := pick(f)
		s := f.open(slot)
		require.NoError(t, f.login(s, slot, false))
		require.NoError(t, ctx.SignInit(s, mech, f.key(s)))
		return f, s
	}
	auth := func(f *fx) uint { return f.auth }
	sign := func(f *fx) uint { return f.sign }
	t.Run("reset between login and sign", func(t *testing.T) {
		f := newFxScope(t, "operation")
		f.init()
		s := f.open(f.auth)
		require.NoError(t, f.login(s, f.auth, false))
		f.do("reset")
		sig, err := f.signWith(s, "after reset")
		require.NoError(t, err, "the held PIN is verified again in the signing transaction")
		f.verify(f.state, 1, "after reset", sig)
		f.done()
	})
	t.Run("reset during sign", func(t *testing.T) {
		f, s := signing(t, sign)
		f.do("fault reset,ins=" + insSign)
		sig, err := ctx.Sign(s, []byte("x"))
		require.NoError(t, err, "the transaction runs again after the reset")
		f.verify(f.state, 2, "x", sig)
		f.recovered(f.state, false)
		f.done()
	})
	t.Run("removed during sign", func(t *testing.T) {
		f, s := signing(t, auth)
		f.do("fault remove,ins=" + insSign)
		_, err := ctx.Sign(s, []byte("interrupted"))
		assert.Equal(t, ckr(pkcs11.CKR_DEVICE_REMOVED), rv(err))
		f.do("insert")
		f.recovered(f.state, false)
		f.done()
	})
	t.Run("garbage answer to the held VERIFY", func(t *testing.T) {
		f, s := signing(t, auth)
		f.do("fault garbage,ins=" + insVerify + ",after=3") // SELECT AP, SELECT EF and the empty VERIFY pass; the VERIFY with the PIN is answered garbage
		_, err := ctx.Sign(s, []byte("x"))
		assert.Equal(t, ckr(pkcs11.CKR_DEVICE_ERROR), rv(err))
		info, err := ctx.GetSessionInfo(s)
		require.NoError(t, err)
		assert.Equal(t, uint(pkcs11.CKS_RO_PUBLIC_SESSION), info.State, "a held PIN is not sent again after a doubtful answer")
		f.recovered(f.state, false)
		f.done()
	})
}
