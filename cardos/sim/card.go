package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Card is one simulated My Number Card: persistent memory (keys,
// certificates, PINs, retry counters) plus the volatile state a real card
// loses at power off (selected applet and EF, verified PINs). It is safe
// for concurrent use; commands are processed one at a time.
type Card struct {
	mu   sync.Mutex
	opt  Options
	atr  []byte
	st   *state
	keys keys
	efs  map[uint16][]byte // readable EFs of the JPKI AP
	// other holds the readable EFs of the other applets.
	other map[otherKey][]byte
	file  *stateFile // nil for a memory-only card

	// volatile state
	app          applet
	ef           uint16
	efSelected   bool
	authVerified bool
	signVerified bool
	// otherVerified holds the key references verified in the current
	// applet when it is not the JPKI AP.
	otherVerified map[string]bool
	resetGen      uint64
	removed       bool
	// leaving says the command being executed takes the credential out
	// of the reader once answered (Quirks.PhoneEnd EndRemoves).
	leaving bool

	stats Stats
	fault faultState
	// lastErr is the last persistence failure, for tests and the command.
	lastErr error
}

// New returns a memory-only card generated from opt (keys, certificates,
// PINs). Generating four RSA-2048 keys takes a moment: tests should
// generate once and Clone.
func New(opt Options) (*Card, error) {
	st, err := generate(opt.Profile, opt.Quirks, opt.now())
	if err != nil {
		return nil, err
	}
	return newCard(st, opt, nil)
}

// Open loads the card stored in the state file at path, or generates one
// from opt and stores it there when the file does not exist. Every later
// change (retry counters, PIN values) is written to the file at once, and
// changes other processes make to the file are picked up before each
// command.
func Open(path string, opt Options) (*Card, error) {
	f := newStateFile(path)
	unlock, err := f.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := f.load()
	if errors.Is(err, os.ErrNotExist) {
		st, err = generate(opt.Profile, opt.Quirks, opt.now())
		if err != nil {
			return nil, err
		}
		if err := f.save(st); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return newCard(st, opt, f)
}

func newCard(st *state, opt Options, f *stateFile) (*Card, error) {
	c := &Card{opt: opt, file: f, otherVerified: map[string]bool{}}
	c.atr = append([]byte(nil), DefaultATR...)
	if len(opt.ATR) > 0 {
		c.atr = append([]byte(nil), opt.ATR...)
	}
	if err := c.install(st); err != nil {
		return nil, err
	}
	return c, nil
}

// install makes st the card's persistent memory.
func (c *Card) install(st *state) error {
	if c.st == nil || !bytes.Equal(c.st.AuthKey, st.AuthKey) || !bytes.Equal(c.st.SignKey, st.SignKey) {
		k, err := st.parseKeys()
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		c.keys = k
	}
	c.setState(st)
	return nil
}

// setState makes st the current memory and lays out the EFs from it.
func (c *Card) setState(st *state) {
	c.st = st
	c.efs = buildEFs(st, c.opt.Device)
	c.other = buildOtherEFs(st)
}

// Clone returns a new memory-only card with the same persistent memory
// (keys, certificates, PINs, counters) and options, freshly powered on.
func (c *Card) Clone() (*Card, error) {
	return c.CloneWith(c.opt)
}

// CloneWith is Clone with other options (latencies, MaxResponse, ATR,
// trace). The memory is the card's: opt.Profile and opt.Quirks are not
// used.
func (c *Card) CloneWith(opt Options) (*Card, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloadLocked()
	return newCard(c.st.clone(), opt, nil)
}

// SaveAs writes the card's persistent memory to a new state file at path
// (for example to hand a card generated once to many tests). The card
// itself keeps its own storage.
func (c *Card) SaveAs(path string) error {
	c.mu.Lock()
	st := c.st.clone()
	c.mu.Unlock()
	f := newStateFile(path)
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return f.save(st)
}

// Path returns the state file of the card, or "" for a memory-only card.
func (c *Card) Path() string {
	if c.file == nil {
		return ""
	}
	return c.file.path
}

// ATR returns the card's answer to reset.
func (c *Card) ATR() []byte {
	return append([]byte(nil), c.atr...)
}

// Reset power-cycles the card: the selected applet and every verified PIN
// are forgotten. Transports other than the one that asked for the reset
// see cardos.ErrCardReset.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}

func (c *Card) resetLocked() {
	c.app = appNone
	c.ef, c.efSelected = 0, false
	c.authVerified, c.signVerified = false, false
	c.otherVerified = map[string]bool{}
	c.resetGen++
	c.stats.Resets++
}

func (c *Card) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resetGen
}

// TriesLeft returns the retry counter of key 1 (auth PIN) or 2 (sign
// password), 0 when blocked, -1 for another key number.
func (c *Card) TriesLeft(key int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloadLocked()
	switch key {
	case 1:
		return c.st.AuthTries
	case 2:
		return c.st.SignTries
	}
	return -1
}

// AdminReset is the municipal-office unlock: every retry counter goes
// back to its maximum, the JPKI ones and those of the other applets (a
// face-authentication card has no PIN: its PIN counters stay at 0, its
// 照合番号 counters are restored). The PIN values are kept.
func (c *Card) AdminReset() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mutateLocked(func(s *state) bool {
		s.resetOtherTries()
		if !s.Profile.FaceAuth {
			s.AuthTries, s.SignTries = AuthMaxTries, s.Quirks.maxTries(2)
		}
		return true
	})
}

// SetTriesLeft sets the retry counter of key 1 (auth PIN) or 2 (sign
// password) to n, for a card that behaves as a reported one.
func (c *Card) SetTriesLeft(key, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	max := 0
	if key == 1 || key == 2 {
		max = c.st.Quirks.maxTries(key)
	}
	if max == 0 || n < 0 || n > max {
		return fmt.Errorf("sim: tries %d for key %d out of range 0..%d", n, key, max)
	}
	return c.mutateLocked(func(s *state) bool {
		if key == 1 {
			s.AuthTries = n
		} else {
			s.SignTries = n
		}
		return true
	})
}

// SetPINs replaces the PIN values and restores both counters, like a
// municipal office re-registering the PINs. Empty values are kept.
func (c *Card) SetPINs(authPIN, signPIN string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if authPIN != "" && !authPINRule.MatchString(authPIN) {
		return errors.New("sim: auth PIN must be exactly 4 digits")
	}
	if signPIN != "" && !signPINRule.MatchString(signPIN) {
		return errors.New("sim: sign password must be 6–16 characters of A–Z and 0–9")
	}
	return c.mutateLocked(func(s *state) bool {
		if authPIN != "" {
			s.AuthPIN = authPIN
		}
		if signPIN != "" {
			s.SignPIN = signPIN
		}
		if !s.Profile.FaceAuth {
			s.AuthTries, s.SignTries = AuthMaxTries, s.Quirks.maxTries(2)
		}
		return true
	})
}

// Quirks returns the card's behaviour settings for unknowns.
func (c *Card) Quirks() Quirks {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloadLocked()
	return c.st.Quirks
}

// SetQuirks changes the card's behaviour for unknowns and stores it in
// the state file, so other processes using the file follow.
func (c *Card) SetQuirks(q Quirks) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mutateLocked(func(s *state) bool {
		s.Quirks = q
		return true
	})
}

// Profile returns the profile the card was generated from, PINs omitted.
// It carries the holder's personal data: do not log it.
func (c *Card) Profile() Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.st.Profile
	p.AuthPIN, p.SignPIN = "", ""
	return p
}

// Certs holds the certificates of a card, DER encoded.
type Certs struct {
	// AuthCert is the user-authentication certificate (EF 000A).
	AuthCert []byte
	// AuthCA is its CA certificate (EF 000B).
	AuthCA []byte
	// SignCert is the signature certificate (EF 0001), nil when the card
	// has none. It carries personal data: never log it.
	SignCert []byte
	// SignCA is the signature CA certificate (EF 0002).
	SignCA []byte
}

// Certificates returns the card's certificates.
func (c *Card) Certificates() Certs {
	c.mu.Lock()
	defer c.mu.Unlock()
	clone := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return append([]byte(nil), b...)
	}
	return Certs{AuthCert: clone(c.st.AuthCert), AuthCA: clone(c.st.AuthCA), SignCert: clone(c.st.SignCert), SignCA: clone(c.st.SignCA)}
}

// Err returns the last error writing the state file, or nil. A failed
// write makes the command answer 6581 (memory failure).
func (c *Card) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// reloadLocked picks up changes another process made to the state file.
func (c *Card) reloadLocked() {
	if c.file == nil || !c.file.changed() {
		return
	}
	st, err := c.file.load()
	if err != nil {
		c.lastErr = err
		return
	}
	if err := c.install(st); err != nil {
		c.lastErr = err
	}
}

// mutateLocked applies fn to the persistent memory and stores the result.
// With a state file it holds the file lock and starts from the file's
// current content, so concurrent processes never lose a counter update.
func (c *Card) mutateLocked(fn func(s *state) bool) error {
	if c.file == nil {
		st := c.st.clone()
		if fn(st) {
			c.setState(st)
		}
		return nil
	}
	unlock, err := c.file.lock()
	if err != nil {
		c.lastErr = err
		return err
	}
	defer unlock()
	c.reloadLocked()
	st := c.st.clone()
	if !fn(st) {
		return nil
	}
	if err := c.file.save(st); err != nil {
		c.lastErr = err
		return err
	}
	c.setState(st)
	return nil
}

// sleep waits d (an injected latency) with Options.Sleep or time.Sleep.
func (c *Card) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	if c.opt.Sleep != nil {
		c.opt.Sleep(d)
		return
	}
	time.Sleep(d)
}
