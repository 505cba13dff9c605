package p11

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// A card or reader that answers a READ BINARY with fewer bytes than asked
// (J-LIS's own client reads 255 bytes at a time; readers cap answers at
// other sizes) changes neither the certificates nor the token's serial:
// the module reads on until the DER length is met. Each certificate is
// checked on its first read from the card (cold) and again from what the
// module holds (warm), the signature certificate after the sign login
// and after a second login (read from the card again).
func TestShortReadAnswers(t *testing.T) {
	base := genCard(t, "default")
	certs := base.Certificates()
	sum := sha256.Sum256(certs.AuthCert[:mynacard.HeadLen])
	wantSerial := hex.EncodeToString(sum[:8])
	for _, maxResp := range []int{0, 255, 200, 128, 64} {
		t.Run(fmt.Sprint("max ", maxResp), func(t *testing.T) {
			card, err := base.CloneWith(sim.Options{MaxResponse: maxResp})
			require.NoError(t, err)
			f := newFixtureCard(t, nil, card)
			auth, sign := f.slots()
			info, err := f.m.TokenInfo(auth)
			require.NoError(t, err)
			assert.Equal(t, wantSerial, info.SerialNumber, "the serial does not depend on the reader")

			value := func(s SessionHandle, id byte, want []byte, what string) {
				t.Helper()
				for _, pass := range []string{"cold", "warm"} {
					objs := f.find(s, Attribute{ck.CKA_CLASS, ulong(ck.CKO_CERTIFICATE)}, Attribute{ck.CKA_ID, []byte{id}})
					require.Len(t, objs, 1, "%s %s", what, pass)
					assert.Equal(t, want, f.attr(s, objs[0], ck.CKA_VALUE), "%s %s", what, pass)
				}
			}
			sa := f.open1(auth, false)
			value(sa, 1, certs.AuthCert, "auth certificate before login")
			value(sa, 3, certs.AuthCA, "auth CA certificate")
			ss := f.open1(sign, false)
			value(ss, 4, certs.SignCA, "sign CA certificate")
			for _, login := range []string{"first", "second"} {
				f.login(ss, sim.DefaultSignPIN)
				value(ss, 2, certs.SignCert, login+" sign login: sign certificate")
				require.NoError(t, f.m.Logout(ss))
			}
		})
	}
}
