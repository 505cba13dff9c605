package p11

import (
	"sync"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// session is one open session on a token. Its operation state is guarded
// by mu; the fields above mu never change.
type session struct {
	id   SessionHandle
	slot SlotID
	kind tokenKind
	c    *insertion // the card insertion the session was opened on
	rw   bool

	mu     sync.Mutex
	find   *findOp
	sign   *signOp
	verify *verifyOp
	digest *digestOp
}

// dropSessionsLocked closes every session of card c.
func (m *Module) dropSessionsLocked(c *insertion) {
	for id, s := range m.sessions {
		if s.c == c {
			delete(m.sessions, id)
		}
	}
}

// session returns an open session. A session whose card went away is
// closed here and reported as CKR_SESSION_HANDLE_INVALID.
func (m *Module) session(id SessionHandle) (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return nil, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	s := m.sessions[id]
	if s == nil {
		return nil, ck.Error(ck.CKR_SESSION_HANDLE_INVALID)
	}
	if s.c.card.Removed() {
		m.dropSessionsLocked(s.c)
		return nil, ck.Error(ck.CKR_SESSION_HANDLE_INVALID)
	}
	return s, nil
}

// OpenSession implements C_OpenSession. CKF_SERIAL_SESSION is required.
// Read/write sessions are allowed although the token is write-protected
// (CKF_WRITE_PROTECTED: no object can be created, changed or destroyed),
// because C_SetPIN needs one and changing the PINs is supported.
func (m *Module) OpenSession(slot SlotID, flags uint) (SessionHandle, error) {
	if err := m.Initialized(); err != nil {
		return 0, err
	}
	if flags&ck.CKF_SERIAL_SESSION == 0 {
		return 0, ck.Error(ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	}
	ref, c, err := m.tokenCard(slot)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return 0, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	if ref.r.card != c || c.card.Removed() {
		return 0, ck.Error(ck.CKR_DEVICE_REMOVED)
	}
	m.nextSession++
	s := &session{id: m.nextSession, slot: slot, kind: ref.kind, c: c, rw: flags&ck.CKF_RW_SESSION != 0}
	if m.countLocked(c, ref.kind, false) == 0 {
		c.card.InUse(ref.kind)
	}
	m.sessions[s.id] = s
	m.log.debugf("C_OpenSession: slot %d (%s token) session %d rw=%v", slot, ref.kind, s.id, s.rw)
	return s.id, nil
}

// CloseSession implements C_CloseSession. Closing the last session of a
// logged-in token logs the token out (and the card forgets its PINs).
func (m *Module) CloseSession(sess SessionHandle) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.sessions, s.id)
	m.mu.Unlock()
	if testHookClosing != nil {
		testHookClosing()
	}
	return m.cardResult(s.c, s.c.card.LogoutIfUnused(s.kind, m.unusedFunc(s.c, s.kind), "last session closed"))
}

// testHookClosing, set by tests, runs in CloseSession between removing
// the session and deciding on the logout: where another thread may open
// a session and log in.
var testHookClosing func()

// unusedFunc returns a check that token kind of card c has no open
// session, for logoutIfUnused.
func (m *Module) unusedFunc(c *insertion, kind tokenKind) func() bool {
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.countLocked(c, kind, false) == 0
	}
}

// CloseAllSessions implements C_CloseAllSessions.
func (m *Module) CloseAllSessions(slot SlotID) error {
	ref, err := m.slot(slot)
	if err != nil {
		return err
	}
	m.mu.Lock()
	var c *insertion
	for id, s := range m.sessions {
		if s.slot == slot {
			c = s.c
			delete(m.sessions, id)
		}
	}
	m.mu.Unlock()
	if c != nil {
		c.card.LogoutIfUnused(ref.kind, m.unusedFunc(c, ref.kind), "all sessions closed")
	}
	return nil
}

// countLocked counts the sessions on token kind of card c (only the
// read/write ones with rwOnly).
func (m *Module) countLocked(c *insertion, kind tokenKind, rwOnly bool) uint {
	var n uint
	for _, s := range m.sessions {
		if s.c == c && s.kind == kind && (!rwOnly || s.rw) {
			n++
		}
	}
	return n
}

// state returns the session's CKS_ state.
func (s *session) state() uint {
	user := s.c.card.LoggedIn(s.kind)
	switch {
	case s.rw && user:
		return ck.CKS_RW_USER_FUNCTIONS
	case s.rw:
		return ck.CKS_RW_PUBLIC_SESSION
	case user:
		return ck.CKS_RO_USER_FUNCTIONS
	}
	return ck.CKS_RO_PUBLIC_SESSION
}

// SessionInfo implements C_GetSessionInfo.
func (m *Module) SessionInfo(sess SessionHandle) (SessionInfo, error) {
	s, err := m.session(sess)
	if err != nil {
		return SessionInfo{}, err
	}
	flags := uint(ck.CKF_SERIAL_SESSION)
	if s.rw {
		flags |= ck.CKF_RW_SESSION
	}
	return SessionInfo{SlotID: s.slot, State: s.state(), Flags: flags}, nil
}

// CKF_FIND_OBJECTS is the C_SessionCancel flag for a search (PKCS#11
// 3.0); the others are the mechanism flags.
const ckfFindObjects = 0x00000040

// SessionCancel implements C_SessionCancel: it ends the operations named
// by flags (CKF_SIGN, CKF_VERIFY, CKF_DIGEST, CKF_FIND_OBJECTS).
func (m *Module) SessionCancel(sess SessionHandle, flags uint) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.end(flags)
	return nil
}

// end ends the operations named by flags (as in C_SessionCancel).
func (s *session) end(flags uint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if flags&ck.CKF_SIGN != 0 {
		s.sign = nil
	}
	if flags&ck.CKF_VERIFY != 0 {
		s.verify = nil
	}
	if flags&ck.CKF_DIGEST != 0 {
		s.digest = nil
	}
	if flags&ckfFindObjects != 0 {
		s.find = nil
	}
}

// SeedRandom implements C_SeedRandom: the card has no random generator,
// and the spec gives CKR_RANDOM_NO_RNG priority over
// CKR_RANDOM_SEED_NOT_SUPPORTED (pkcs11-tool --test then reports "not
// implemented" instead of an error).
func (m *Module) SeedRandom(sess SessionHandle, seed []byte) error {
	if _, err := m.session(sess); err != nil {
		return err
	}
	return ck.Error(ck.CKR_RANDOM_NO_RNG)
}

// GenerateRandom implements C_GenerateRandom: the card has no random
// generator, so it never succeeds (and needs no buffer).
func (m *Module) GenerateRandom(sess SessionHandle) error {
	if _, err := m.session(sess); err != nil {
		return err
	}
	return ck.Error(ck.CKR_RANDOM_NO_RNG)
}
