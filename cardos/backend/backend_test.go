package backend

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pcsc"
)

func TestOpenSimulator(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	t.Setenv(EnvSim, path)
	ctx, err := Open()
	require.NoError(t, err)
	defer ctx.Close()
	readers, err := ctx.Readers()
	require.NoError(t, err)
	require.Len(t, readers, 1)
	assert.Equal(t, "Myna Simulator 00 00", readers[0].Name)
	assert.True(t, readers[0].Present)
	tr, err := ctx.Connect(readers[0].Name)
	require.NoError(t, err)
	defer tr.Close()
	name, err := jpki.NewClient(tr).TokenName()
	require.NoError(t, err)
	assert.Equal(t, "JPKIAPICCTOKEN2", name)
	assert.FileExists(t, path, "the state file is created")
}

// MYNA_PKCS11_SIM_DEVICE makes the simulated card a smartphone credential.
func TestOpenSimulatorDevice(t *testing.T) {
	for _, tc := range []struct{ env, token string }{
		{"", jpki.TokenCard}, {"card", jpki.TokenCard}, {"android", jpki.TokenAndroid}, {"iphone", jpki.TokenIPhone},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(EnvSim, filepath.Join(t.TempDir(), "card.json"))
			t.Setenv(EnvSimDevice, tc.env)
			ctx, err := Open()
			require.NoError(t, err)
			defer ctx.Close()
			tr, err := ctx.Connect("Myna Simulator 00 00")
			require.NoError(t, err)
			defer tr.Close()
			name, err := jpki.NewClient(tr).TokenName()
			require.NoError(t, err)
			assert.Equal(t, tc.token, name)
		})
	}
	t.Setenv(EnvSim, filepath.Join(t.TempDir(), "card.json"))
	t.Setenv(EnvSimDevice, "pixel")
	_, err := Open()
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvSimDevice)
}

func TestOpenSimulatorBadPath(t *testing.T) {
	t.Setenv(EnvSim, t.TempDir()) // a directory, not a state file
	_, err := Open()
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvSim)
}

func TestOpenPCSC(t *testing.T) {
	t.Setenv(EnvSim, "")
	ctx, err := Open()
	require.NoError(t, err, "PC/SC opens even without pcscd")
	defer ctx.Close()
	_, ok := ctx.(*pcsc.Context)
	assert.True(t, ok, "got %T", ctx)
}
