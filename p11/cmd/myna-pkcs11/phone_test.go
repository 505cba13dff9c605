package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/backend"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// status names a smartphone credential, says its authentication
// certificate is behind the PIN, shows the CA certificates and spends
// no try.
func TestStatusNamesThePhone(t *testing.T) {
	for _, tc := range []struct {
		dev   sim.Device
		kind  cardos.Kind
		token string
	}{{sim.DeviceAndroid, cardos.KindAndroid, jpki.TokenAndroid}, {sim.DeviceIPhone, cardos.KindIPhone, jpki.TokenIPhone}} {
		t.Run(tc.dev.String(), func(t *testing.T) {
			path := freshCard(t, sim.Profile{})
			t.Setenv(backend.EnvSimDevice, tc.dev.String())
			out, errs, rc := runCmd(t, "", "status")
			require.Equal(t, 0, rc, errs)
			assert.Contains(t, out, "Card: "+tc.kind.String()+" (token name "+tc.token+")")
			assert.Contains(t, out, "only shows the authentication certificate after the PIN")

			out, errs, rc = runCmd(t, "", "status", "--json")
			require.Equal(t, 0, rc, errs)
			var rep statusReport
			require.NoError(t, json.Unmarshal([]byte(out), &rep))
			require.Len(t, rep.Readers, 1)
			card := rep.Readers[0].Card
			require.NotNil(t, card)
			assert.Equal(t, "smartphone", card.Kind)
			assert.Equal(t, tc.kind.String(), card.Credential)
			assert.Equal(t, tc.token, card.TokenName)
			auth, sign := card.Keys[0], card.Keys[1]
			assert.Equal(t, certUnknown, auth.CertificateState)
			assert.Nil(t, auth.Certificate)
			assert.NotNil(t, auth.CA, "the auth CA is shown")
			assert.NotNil(t, sign.CA, "the sign CA is shown")
			a, s := tries(t, path)
			assert.Equal(t, [2]int{3, 5}, [2]int{a, s}, "status spends no try")
		})
	}
}
