package backend

// What the tests that drive the in-process simulator through
// MYNA_PKCS11_SIM_CONTROL share with the module; the control itself is in
// simcontrol.go, built only with the tag mynatest.

// EnvSimControl names the test-only control file of the in-process
// simulator (see simcontrol.go). The shipped module (built without the
// tag mynatest) refuses to start the simulator when it is set.
const EnvSimControl = "MYNA_PKCS11_SIM_CONTROL"

// ControlStats is the content of the <control>.stats file: the counters
// of each card the module used, by state file path.
type ControlStats struct {
	// Cards maps a state file path to the card's counters.
	Cards map[string]CardStats `json:"cards"`
	// Applied is the number of control commands run so far.
	Applied int `json:"applied"`
	// Errors lists control lines that could not be run.
	Errors []string `json:"errors,omitempty"`
}

// CardStats is sim.Stats in JSON form.
type CardStats struct {
	APDUs      uint64            `json:"apdus"`
	ByINS      map[string]uint64 `json:"by_ins"`
	Verifies   uint64            `json:"verifies"`
	Signatures uint64            `json:"signatures"`
	Resets     uint64            `json:"resets"`
}
