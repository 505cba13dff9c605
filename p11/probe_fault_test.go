package p11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// A glitch at the first SELECT of the JPKI applet (a status word that is not
// "no such applet") must not hide the token until the card is re-inserted;
// a real "not found" answer does.
func TestProbeRetriesAfterTransientSelectFault(t *testing.T) {
	for _, tt := range []struct {
		sw         apdu.SW
		definitive bool
	}{{0x6F00, false}, {0x6581, false}, {0x6400, false}, {0x6A82, true}, {0x6D00, true}} {
		t.Run(tt.sw.String(), func(t *testing.T) {
			r := sim.NewReader("Sim Reader 00 00")
			card := genCard(t, "default")
			r.Insert(card)
			card.SetFault(sim.Fault{Kind: sim.FaultWrongSW, SW: tt.sw, OnINS: true, INS: 0xA4, Repeat: true})
			m := NewModule(func() (cardos.Context, error) { return sim.NewContext(r), nil }, mynacard.Attach)
			require.NoError(t, m.Initialize(InitArgs{}))
			defer m.Finalize()
			list, err := m.SlotList(true)
			require.NoError(t, err)
			assert.Empty(t, list, "no token while SELECT fails")
			card.SetFault(sim.Fault{})
			list, err = m.SlotList(true)
			require.NoError(t, err)
			if tt.definitive {
				assert.Empty(t, list, "a card without the applet stays without token")
			} else {
				assert.Len(t, list, 2, "the token shows once the card answers")
			}
		})
	}
}
