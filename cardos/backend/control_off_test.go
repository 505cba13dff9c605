//go:build !mynatest

package backend

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The shipped module has no simulator control: with the variable set it
// refuses to open the simulator and says why, instead of ignoring it.
func TestShippedBuildHasNoControl(t *testing.T) {
	t.Setenv(EnvSim, filepath.Join(t.TempDir(), "card.json"))
	t.Setenv(EnvSimControl, filepath.Join(t.TempDir(), "control"))
	_, err := Open()
	require.ErrorIs(t, err, errNoControl)
	require.ErrorContains(t, err, "-tags mynatest")
}
