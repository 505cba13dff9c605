//go:build !mynatest

package backend

import (
	"errors"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// errNoControl is returned when MYNA_PKCS11_SIM_CONTROL is set for a
// module built without the test-only simulator control.
var errNoControl = errors.New(EnvSimControl + " is test-only: this build has no simulator control (make test builds build/out/libmyna-pkcs11-test.so with -tags mynatest); unset it")

// openControlled refuses: the shipped module has no simulator control.
func openControlled(statePath, control string, opt sim.Options) (cardos.Context, error) {
	return nil, errNoControl
}
