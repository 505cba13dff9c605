package p11

import (
	"sync"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Opener creates the card back end at C_Initialize (PC/SC or the
// simulator).
type Opener func() (cardos.Context, error)

// Module is one loaded instance of the PKCS#11 library. Its zero value is
// not usable; create it with NewModule. All methods are safe for
// concurrent use.
type Module struct {
	open Opener

	mu  sync.Mutex
	ctx cardos.Context // nil when not initialised
}

// NewModule returns an uninitialised module that will open its card back
// end with open at Initialize. It does no work itself.
func NewModule(open Opener) *Module { return &Module{open: open} }

// Initialize implements C_Initialize.
func (m *Module) Initialize(a InitArgs) error { return errNotYet }

// Finalize implements C_Finalize.
func (m *Module) Finalize() error { return errNotYet }

// Initialized returns nil when the module is initialised and
// CKR_CRYPTOKI_NOT_INITIALIZED otherwise.
func (m *Module) Initialized() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil {
		return ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	return nil
}

// Info implements C_GetInfo.
func (m *Module) Info() (Info, error) { return Info{}, errNotYet }
