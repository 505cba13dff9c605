//go:build mynatest

package backend

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

func TestSimControlFile(t *testing.T) {
	dir := t.TempDir()
	control := filepath.Join(dir, "control")
	t.Setenv(EnvSim, filepath.Join(dir, "card.json"))
	t.Setenv(EnvSimControl, control)
	ctx, err := Open()
	require.NoError(t, err)
	defer ctx.Close()

	tr, err := ctx.Connect(simReaderName)
	require.NoError(t, err)
	defer tr.Close()
	_, err = jpki.NewClient(tr).TokenName()
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(control, []byte("# 1\nfault silent,repeat\n"), 0o600))
	_, err = jpki.NewClient(tr).TokenName()
	assert.ErrorIs(t, err, cardos.ErrTimeout, "the armed fault strikes at the next command")

	require.NoError(t, os.WriteFile(control, []byte("# 2\nfault none\nremove\n"), 0o600))
	rs, err := ctx.Readers()
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.False(t, rs[0].Present)

	require.NoError(t, os.WriteFile(control, []byte("# 3\ninsert\nunplug\nbogus\n"), 0o600))
	rs, err = ctx.Readers()
	require.NoError(t, err)
	assert.Empty(t, rs)

	require.NoError(t, os.WriteFile(control, []byte("# 4\nplug\n"), 0o600))
	rs, err = ctx.Readers()
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.True(t, rs[0].Present)

	b, err := os.ReadFile(control + ".stats")
	require.NoError(t, err)
	var st ControlStats
	require.NoError(t, json.Unmarshal(b, &st))
	assert.Equal(t, 7, st.Applied)
	require.Len(t, st.Errors, 1)
	assert.Contains(t, st.Errors[0], "bogus")
	assert.NotZero(t, st.Cards[os.Getenv(EnvSim)].APDUs)
}
