// Package backend picks the card back end of the module: the My Number
// Card simulator when the environment asks for it, PC/SC otherwise.
package backend

import (
	"fmt"
	"os"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pcsc"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// EnvSim is the environment variable that selects the simulator.
//
// MYNA_PKCS11_SIM=<path> makes Open return an in-process simulated reader,
// "Myna Simulator 00 00", holding the card stored in the state file at
// path. The file is created with a freshly generated card (auth PIN
// "1234", signature password "ABC123") when it does not exist, and every
// change (retry counters, PIN values) is written back at once, so several
// processes using the same path share one card. Unset or empty, Open uses
// the system's PC/SC service (pcscd).
const EnvSim = "MYNA_PKCS11_SIM"

// EnvSimDevice makes the simulated card of EnvSim answer as a smartphone
// credential: MYNA_PKCS11_SIM_DEVICE=android or iphone (sim.Device; card
// or unset is the My Number Card). The state file does not keep it.
const EnvSimDevice = "MYNA_PKCS11_SIM_DEVICE"

// Open returns the card back end: the simulator of the state file named
// by MYNA_PKCS11_SIM when that variable is set and not empty, else a
// PC/SC Context. Errors say which back end failed.
func Open() (cardos.Context, error) {
	if path := os.Getenv(EnvSim); path != "" {
		dev, err := sim.ParseDevice(os.Getenv(EnvSimDevice))
		if err != nil {
			return nil, fmt.Errorf("backend: %s: %w", EnvSimDevice, err)
		}
		opt := sim.Options{Device: dev}
		if control := os.Getenv(EnvSimControl); control != "" {
			ctx, err := openControlled(path, control, opt)
			if err != nil {
				return nil, fmt.Errorf("backend: simulator state file %s=%q: %w", EnvSim, path, err)
			}
			return ctx, nil
		}
		ctx, err := sim.OpenContext(path, opt)
		if err != nil {
			return nil, fmt.Errorf("backend: simulator state file %s=%q: %w", EnvSim, path, err)
		}
		return ctx, nil
	}
	ctx, err := pcsc.New()
	if err != nil {
		return nil, fmt.Errorf("backend: PC/SC: %w", err)
	}
	return ctx, nil
}
