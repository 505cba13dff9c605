package p11

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// One chain from the card's status word through the jpki sentinel to
// the CKR the application sees: the simulator answers sw to the named
// command of a login or a signature (scope session, so that the command
// is the only one of its kind in the transaction).
func TestStatusWordChain(t *testing.T) {
	const verify, sign = 0x20, 0x2A
	for _, tc := range []struct {
		ins      byte
		sw       apdu.SW
		sentinel error // nil: no jpki sentinel, an *apdu.Error only
		want     uint
	}{
		{verify, 0x63C2, &cardos.WrongPINError{}, ck.CKR_PIN_INCORRECT},
		{verify, 0x63C1, &cardos.WrongPINError{}, ck.CKR_PIN_INCORRECT},
		{verify, apdu.SWNoTriesLeft, cardos.ErrPINLocked, ck.CKR_PIN_LOCKED},
		{verify, apdu.SWAuthBlocked, cardos.ErrPINLocked, ck.CKR_PIN_LOCKED},
		{verify, apdu.SWRefDataBlocked, cardos.ErrPINLocked, ck.CKR_PIN_LOCKED},
		{verify, apdu.SWFileNotFound, cardos.ErrNotFound, ck.CKR_DEVICE_ERROR},
		{verify, apdu.SWWrongLength, nil, ck.CKR_DEVICE_ERROR},
		{verify, apdu.SWNoPreciseDiagnosis, nil, ck.CKR_DEVICE_ERROR},
		{sign, apdu.SWSecurityStatus, cardos.ErrPINRequired, ck.CKR_USER_NOT_LOGGED_IN},
		{sign, apdu.SWConditionsNotMet, nil, ck.CKR_DEVICE_ERROR},
		{sign, apdu.SWWrongLength, nil, ck.CKR_DEVICE_ERROR},
		{sign, apdu.SWFileNotFound, cardos.ErrNotFound, ck.CKR_DEVICE_ERROR},
		{sign, apdu.SWINSNotSupported, nil, ck.CKR_DEVICE_ERROR},
	} {
		t.Run(fmt.Sprintf("%02X %v", tc.ins, tc.sw), func(t *testing.T) {
			f := newFixtureConfig(t, scopeConfig(ScopeSession, ScopeSession))
			auth, _ := f.slots()
			s := f.open1(auth, false)
			var err error
			if tc.ins == verify {
				f.card.SetFault(sim.Fault{Kind: sim.FaultWrongSW, OnINS: true, INS: verify, SW: tc.sw})
				err = f.m.Login(s, ck.CKU_USER, []byte(sim.DefaultAuthPIN))
			} else {
				f.login(s, sim.DefaultAuthPIN)
				require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, f.privKey(s)))
				f.card.SetFault(sim.Fault{Kind: sim.FaultWrongSW, OnINS: true, INS: sign, SW: tc.sw})
				_, _, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
			}
			require.Error(t, err)
			var ae *apdu.Error
			require.ErrorAs(t, err, &ae, "the status word stays in the error")
			assert.Equal(t, tc.sw, ae.SW)
			switch want := tc.sentinel.(type) {
			case nil:
				for _, s := range []error{cardos.ErrPINLocked, cardos.ErrPINRequired, cardos.ErrNotFound, cardos.ErrNotJPKI} {
					assert.NotErrorIs(t, err, s)
				}
			case *cardos.WrongPINError:
				require.ErrorAs(t, err, &want)
				assert.Equal(t, tc.sw.TriesLeft(), want.TriesLeft)
			default:
				assert.ErrorIs(t, err, want)
			}
			assert.Equal(t, ck.Name(tc.want), rv(err))
		})
	}
}
