package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFault(t *testing.T) {
	good := []struct {
		spec string
		want Fault
	}{
		{"none", Fault{Kind: FaultNone}},
		{"silent,after=3,ins=2A,repeat", Fault{Kind: FaultSilent, After: 3, OnINS: true, INS: 0x2A, Repeat: true}},
		{"lost,ins=20", Fault{Kind: FaultLost, OnINS: true, INS: 0x20}},
		{"wrong-sw,sw=6A82", Fault{Kind: FaultWrongSW, SW: 0x6A82}},
		{"wrong-sw,after=2,ins=2a,sw=6982,repeat", Fault{Kind: FaultWrongSW, After: 2, OnINS: true, INS: 0x2A, SW: 0x6982, Repeat: true}},
		{"remove", Fault{Kind: FaultRemove}},
	}
	for _, tt := range good {
		f, err := ParseFault(tt.spec)
		require.NoError(t, err, tt.spec)
		assert.Equal(t, tt.want, f, tt.spec)
	}
	for _, bad := range []string{"explode", "melt", "remove,after=-1", "remove,after=x", "reset,ins=XYZ", "remove,ins=ZZ",
		"wrong-sw,sw=12345", "garbage,colour=red", "remove,twice"} {
		_, err := ParseFault(bad)
		assert.Error(t, err, bad)
	}
}
