package p11

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Opener creates the card back end at C_Initialize (PC/SC or the
// simulator).
type Opener func() (cardos.Context, error)

// Library identification reported by C_GetInfo.
const (
	manufacturerID     = "myna-pkcs11"
	libraryDescription = "My Number Card JPKI PKCS#11"
)

var (
	// cryptokiVersion is the newest interface the module offers
	// (C_GetInterface hands out the 3.0 function list first), as OpenSC does.
	cryptokiVersion = Version{Major: 3, Minor: 0}
	libraryVersion  = Version{Major: 0, Minor: 1}
)

// Module is one loaded instance of the PKCS#11 library. Create it with
// NewModule. All methods are safe for concurrent use.
//
// Locking: m.mu guards the module's maps and is never held during card
// I/O. Each session has a mutex for its operation state; each card has io
// (one conversation at a time) and mu (its fields, held briefly). Lock
// order: session.mu, m.mu, card.mu; card.io, card.mu.
type Module struct {
	open   Opener
	attach cardos.Attach

	refreshMu sync.Mutex // one reader enumeration at a time

	mu          sync.Mutex
	initialized bool
	ctx         cardos.Context // nil while the back end could not be opened
	log         *logger
	cfg         Config  // read at Initialize
	fixedCfg    *Config // set by UseConfig: used instead of LoadConfig
	waitCtx     context.Context
	cancelWait  context.CancelFunc
	notes       notifier // desktop notifications about the PIN's tries

	readers  map[string]*reader // by name, kept for the module's lifetime
	order    []*reader          // in order of first appearance
	slots    map[SlotID]slotRef
	nextSlot SlotID
	nextGen  uint64

	sessions    map[SessionHandle]*session
	nextSession SessionHandle

	known   []cardos.ReaderStatus // last reader state seen
	pending []SlotID              // slot events not yet reported
}

// NewModule returns an uninitialised module that opens its card back end
// with open at Initialize and makes the card layer's credential of each
// card insertion with attach (mynacard.Attach). It does no work itself.
func NewModule(open Opener, attach cardos.Attach) *Module {
	return &Module{
		open:     open,
		attach:   attach,
		readers:  map[string]*reader{},
		slots:    map[SlotID]slotRef{},
		sessions: map[SessionHandle]*session{},
		log:      &logger{},
	}
}

// Initialize implements C_Initialize. The application's mutex callbacks
// are never used: the module locks with Go mutexes, so all four callbacks
// without CKF_OS_LOCKING_OK give CKR_CANT_LOCK. The module starts no OS
// threads of its own beyond Go's runtime, so
// CKF_LIBRARY_CANT_CREATE_OS_THREADS is accepted.
func (m *Module) Initialize(a InitArgs) error {
	if a.Present {
		if a.ReservedNonNil {
			return ck.Error(ck.CKR_ARGUMENTS_BAD)
		}
		switch {
		case a.MutexFuncs != 0 && a.MutexFuncs != 4:
			return ck.Error(ck.CKR_ARGUMENTS_BAD)
		case a.MutexFuncs == 4 && !a.OSLockingOK:
			return ck.Error(ck.CKR_CANT_LOCK)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.initialized {
		return ck.Error(ck.CKR_CRYPTOKI_ALREADY_INITIALIZED)
	}
	m.loadConfigLocked()
	m.notes.configure(!m.cfg.NoNotifications, localeJapanese(os.Getenv), m.log)
	m.initialized = true
	m.waitCtx, m.cancelWait = context.WithCancel(context.Background())
	m.known, m.pending = nil, nil
	m.openContextLocked()
	if m.ctx != nil {
		// The readers present now are the baseline for slot events.
		if st, err := m.ctx.Readers(); err == nil {
			cl := m.applyLocked(st, false)
			closeCards(cl)
		}
	}
	m.log.infof("C_Initialize: ok")
	return nil
}

// UseConfig makes every later Initialize use c instead of reading the
// configuration file and the environment (LoadConfig). Programs that
// embed the module and need both tokens whatever the user configured for
// browsers (the companion command, tests) call it before Initialize.
func (m *Module) UseConfig(c Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fixedCfg = &c
}

// loadConfigLocked reads the configuration, opens the log it asks for and
// logs what was wrong with it (to stderr when the log is off, so that a
// mistyped key is never silent).
func (m *Module) loadConfigLocked() {
	var problems []string
	if m.fixedCfg != nil {
		m.cfg = *m.fixedCfg
	} else {
		m.cfg, problems = LoadConfig()
	}
	m.log = newLogger(m.cfg.LogLevel, m.cfg.LogFile)
	for _, p := range problems {
		if m.log.enabled(LogInfo) {
			m.log.infof("configuration: %s", p)
		} else {
			fmt.Fprintf(os.Stderr, "myna-pkcs11: configuration: %s\n", p)
		}
	}
	if m.cfg.TokensFrom != "" {
		m.log.infof("configuration: tokens %s (%s)", m.cfg.tokensValue(), m.cfg.TokensFrom)
	}
	if m.cfg.Readers != "" || !m.cfg.AuthToken || !m.cfg.SignToken {
		m.log.infof("configuration: readers containing %q, auth token %v, sign token %v", m.cfg.Readers, m.cfg.AuthToken, m.cfg.SignToken)
	}
}

// openContextLocked opens the back end if it is not open. A failure (no
// pcscd yet) is logged and retried at the next enumeration, so that the
// library still loads and shows no slots.
func (m *Module) openContextLocked() {
	if m.ctx != nil || m.open == nil {
		return
	}
	ctx, err := m.open()
	if err != nil {
		if errors.Is(err, cardos.ErrAccessDenied) {
			m.log.infof("the smart-card service pcscd refused this program (on Debian 13 and later pcscd asks polkit, which by default allows root and the active local session only): %v", err)
			return
		}
		m.log.infof("cannot open the smart-card service (is pcscd running?): %v", err)
		return
	}
	m.ctx = ctx
}

// Finalize implements C_Finalize: it logs out of every card (the card
// forgets the PINs), closes every session and card connection, closes the
// back end and wakes a blocked WaitForSlotEvent, which then returns
// CKR_CRYPTOKI_NOT_INITIALIZED. Initialize may be called again.
func (m *Module) Finalize() error {
	m.mu.Lock()
	if !m.initialized {
		m.mu.Unlock()
		return ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	m.initialized = false
	m.cancelWait()
	ctx := m.ctx
	m.ctx = nil
	var cards []*insertion
	for _, r := range m.order {
		if r.card != nil {
			cards = append(cards, r.card)
			r.card = nil
		}
		r.attached = false
	}
	clear(m.sessions)
	m.known, m.pending = nil, nil
	log := m.log
	m.mu.Unlock()

	for _, c := range cards {
		c.card.Logout("C_Finalize")
		c.card.Close()
	}
	if ctx != nil {
		ctx.Close()
	}
	m.notes.wait(notifyTimeout)
	log.infof("C_Finalize: ok")
	log.close()
	return nil
}

// AtExit runs as the process exits without C_Finalize, as pkcs11-tool
// does after --change-pin. A token of PIN scope session still logged in
// would leave the card verified for every other program, so its card is
// logged out. Nothing else is done, and it waits for no lock: a card in
// use by another thread at that moment is left alone. A desktop
// notification not yet delivered (pkcs11-tool exits right after a wrong
// PIN) is given up to notifyTimeout to arrive.
func (m *Module) AtExit() {
	m.notes.wait(notifyTimeout)
	if !m.mu.TryLock() {
		return
	}
	var cards []*insertion
	if m.initialized {
		for _, r := range m.order {
			if r.card != nil {
				cards = append(cards, r.card)
			}
		}
	}
	m.mu.Unlock()
	for _, c := range cards {
		c.card.LogoutAtExit()
	}
}

// Initialized returns nil when the module is initialised and
// CKR_CRYPTOKI_NOT_INITIALIZED otherwise.
func (m *Module) Initialized() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	return nil
}

// Info implements C_GetInfo.
func (m *Module) Info() (Info, error) {
	if err := m.Initialized(); err != nil {
		return Info{}, err
	}
	return Info{
		CryptokiVersion:    cryptokiVersion,
		ManufacturerID:     manufacturerID,
		LibraryDescription: libraryDescription,
		LibraryVersion:     libraryVersion,
	}, nil
}

// context returns the back end, opening it if an earlier attempt failed.
func (m *Module) context() (cardos.Context, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return nil, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	m.openContextLocked()
	return m.ctx, nil
}
