package main

import (
	"encoding/json"
	"fmt"
	"strings"
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

// diagnose names a smartphone credential per token, says what it does
// differently, and still signs with the auth key after the PIN.
func TestDiagnoseNamesThePhone(t *testing.T) {
	for _, dev := range []sim.Device{sim.DeviceAndroid, sim.DeviceIPhone} {
		t.Run(dev.String(), func(t *testing.T) {
			rep := simDiagnose(t, freshCard(t, sim.Profile{}), sim.Options{Device: dev}, nil, sim.DefaultAuthPIN, "")
			require.Len(t, rep.Tokens, 2)
			kind := cardos.KindAndroid
			if dev == sim.DeviceIPhone {
				kind = cardos.KindIPhone
			}
			for _, tr := range rep.Tokens {
				assert.Equal(t, kind.String(), tr.Credential)
			}
			assert.Contains(t, strings.Join(rep.Conclusions, "\n"), "is a "+kind.String()+": its authentication certificate and key appear only after the PIN")
			for _, s := range rep.Steps {
				assert.Equal(t, "CKR_OK", s.Result, "step %s: %s", s.Name, s.Detail)
			}
			isd := fmt.Sprintf("%X", jpki.AIDISD)
			refused := false
			for _, a := range rep.APDUs {
				refused = refused || a.Target == isd && a.SW == "6A82"
			}
			assert.True(t, refused, "the report shows the phone refusing another applet's selection")
		})
	}
}
