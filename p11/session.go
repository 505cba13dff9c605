package p11

import (
	"fmt"
	"sync"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// session is one open session on a token. Its operation state is guarded
// by mu; the fields above mu never change.
type session struct {
	id   uint
	slot uint
	kind tokenKind
	c    *card // the card the session was opened on
	rw   bool

	mu     sync.Mutex
	find   *findOp
	sign   *signOp
	verify *verifyOp
	digest *digestOp
}

// dropSessionsLocked closes every session of card c.
func (m *Module) dropSessionsLocked(c *card) {
	for id, s := range m.sessions {
		if s.c == c {
			delete(m.sessions, id)
		}
	}
}

// session returns an open session. A session whose card went away is
// closed here and reported as CKR_SESSION_HANDLE_INVALID.
func (m *Module) session(id uint) (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return nil, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	s := m.sessions[id]
	if s == nil {
		return nil, ck.Error(ck.CKR_SESSION_HANDLE_INVALID)
	}
	if s.c.isRemoved() {
		m.dropSessionsLocked(s.c)
		return nil, ck.Error(ck.CKR_SESSION_HANDLE_INVALID)
	}
	return s, nil
}


// OpenSession implements C_OpenSession. CKF_SERIAL_SESSION is required.
// Read/write sessions are allowed although the token is write-protected
// (CKF_WRITE_PROTECTED: no object can be created, changed or destroyed),
// because C_SetPIN needs one and changing the PINs is supported.
func (m *Module) OpenSession(slot, flags uint) (uint, error) {
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
	if ref.r.card != c || c.isRemoved() {
		return 0, ck.Error(ck.CKR_DEVICE_REMOVED)
	}
	m.nextSession++
	s := &session{id: m.nextSession, slot: slot, kind: ref.kind, c: c, rw: flags&ck.CKF_RW_SESSION != 0}
	if m.countLocked(c, ref.kind, false) == 0 {
		c.tokenInUse(ref.kind)
	}
	m.sessions[s.id] = s
	m.log.debugf("C_OpenSession: slot %d (%s token) session %d rw=%v", slot, ref.kind, s.id, s.rw)
	return s.id, nil
}

// CloseSession implements C_CloseSession. Closing the last session of a
// logged-in token logs the token out (and the card forgets its PINs).
func (m *Module) CloseSession(sess uint) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.sessions, s.id)
	ctx := m.ctx
	m.mu.Unlock()
	if testHookClosing != nil {
		testHookClosing()
	}
	return m.cardGone(s.c, s.c.logoutIfUnused(ctx, s.kind, m.unusedFunc(s.c, s.kind), "last session closed"))
}

// testHookClosing, set by tests, runs in CloseSession between removing
// the session and deciding on the logout: where another thread may open
// a session and log in.
var testHookClosing func()

// unusedFunc returns a check that token kind of card c has no open
// session, for logoutIfUnused.
func (m *Module) unusedFunc(c *card, kind tokenKind) func() bool {
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.countLocked(c, kind, false) == 0
	}
}

// CloseAllSessions implements C_CloseAllSessions.
func (m *Module) CloseAllSessions(slot uint) error {
	ref, err := m.slot(slot)
	if err != nil {
		return err
	}
	m.mu.Lock()
	var c *card
	for id, s := range m.sessions {
		if s.slot == slot {
			c = s.c
			delete(m.sessions, id)
		}
	}
	ctx := m.ctx
	m.mu.Unlock()
	if c != nil {
		c.logoutIfUnused(ctx, ref.kind, m.unusedFunc(c, ref.kind), "all sessions closed")
	}
	return nil
}

// countLocked counts the sessions on token kind of card c (only the
// read/write ones with rwOnly).
func (m *Module) countLocked(c *card, kind tokenKind, rwOnly bool) uint {
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
	user := s.c.isLoggedIn(s.kind)
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
func (m *Module) SessionInfo(sess uint) (SessionInfo, error) {
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

// Login implements C_Login. The PIN is checked against the token's
// policy before anything reaches the card; a PIN known to be locked (from
// C_GetTokenInfo or an earlier VERIFY) gives CKR_PIN_LOCKED without a
// VERIFY; otherwise the PIN is verified at once, and the card's answer
// updates the retry counter C_GetTokenInfo reports. The login holds for every session of the token. The token
// has no security officer: CKU_SO gives CKR_USER_TYPE_INVALID.
// CKU_CONTEXT_SPECIFIC verifies the PIN again during a signing
// operation.
func (m *Module) Login(sess, userType uint, pin []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	switch userType {
	case ck.CKU_USER:
	case ck.CKU_CONTEXT_SPECIFIC:
		s.mu.Lock()
		active := s.sign != nil
		s.mu.Unlock()
		if !active {
			return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
		}
	case ck.CKU_SO:
		m.log.infof("C_Login: the JPKI tokens have no security officer PIN")
		return ck.Error(ck.CKR_USER_TYPE_INVALID)
	default:
		return ck.Error(ck.CKR_USER_TYPE_INVALID)
	}
	if userType == ck.CKU_USER && s.c.isLoggedIn(s.kind) {
		return ck.Error(ck.CKR_USER_ALREADY_LOGGED_IN)
	}
	if s.kind == signToken && s.c.signCertKnown() == certAbsent {
		m.log.infof("C_Login: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token cannot be used")
		return ck.Error(ck.CKR_USER_PIN_NOT_INITIALIZED)
	}
	p, err := checkPIN(s.kind, pin)
	if err != nil {
		m.log.infof("C_Login (%s token): %v", s.kind, err)
		return err
	}
	ctx, err := m.context()
	if err != nil {
		return err
	}
	err = s.c.login(ctx, s.kind, p, userType == ck.CKU_CONTEXT_SPECIFIC)
	if err != nil {
		m.log.infof("C_Login (%s token): %v", s.kind, err)
	}
	return m.cardGone(s.c, err)
}

// signCertKnown returns what is known about the signature certificate.
func (c *card) signCertKnown() certState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signCertState
}

// LoginUser implements C_LoginUser. The tokens have no user names, so
// the name is ignored and it behaves as Login.
func (m *Module) LoginUser(sess, userType uint, pin, username []byte) error {
	return m.Login(sess, userType, pin)
}

// Logout implements C_Logout. The card is made to forget its verified
// PINs (it cannot forget one and keep the other, so the other token of
// the same card is logged out too).
func (m *Module) Logout(sess uint) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	if !s.c.isLoggedIn(s.kind) {
		return ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
	}
	ctx, err := m.context()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.find, s.sign = nil, nil // private objects vanish; operations on them end
	s.mu.Unlock()
	return m.cardGone(s.c, s.c.logoutOnCard(ctx, "C_Logout"))
}

// SetPIN implements C_SetPIN: both PINs are checked against the policy
// before the card is touched, the old one is verified, then the card's
// CHANGE REFERENCE DATA sets the new one. It needs a read/write session
// (CKR_SESSION_READ_ONLY otherwise), as the spec requires.
func (m *Module) SetPIN(sess uint, oldPIN, newPIN []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	if !s.rw {
		return ck.Error(ck.CKR_SESSION_READ_ONLY)
	}
	o, err := checkPIN(s.kind, oldPIN)
	if err != nil {
		m.log.infof("C_SetPIN (%s token): current PIN: %v", s.kind, err)
		return err
	}
	n, err := checkPIN(s.kind, newPIN)
	if err != nil {
		clear(o)
		m.log.infof("C_SetPIN (%s token): new PIN: %v", s.kind, err)
		return err
	}
	ctx, err := m.context()
	if err != nil {
		return err
	}
	err = s.c.changePIN(ctx, s.kind, o, n)
	if err != nil {
		m.log.infof("C_SetPIN (%s token): %v", s.kind, err)
	}
	return m.cardGone(s.c, err)
}

// InitPIN implements C_InitPIN: the card cannot set a PIN without the old
// one (unblocking is done at the municipal office).
func (m *Module) InitPIN(sess uint, pin []byte) error {
	if _, err := m.session(sess); err != nil {
		return err
	}
	return fmt.Errorf("the card's PIN can only be reset at the municipal office: %w", ck.Error(ck.CKR_FUNCTION_NOT_SUPPORTED))
}

// InitToken implements C_InitToken: the card cannot be initialised.
func (m *Module) InitToken(slot uint, soPIN, label []byte) error {
	if _, err := m.slot(slot); err != nil {
		return err
	}
	return ck.Error(ck.CKR_FUNCTION_NOT_SUPPORTED)
}

// CKF_FIND_OBJECTS is the C_SessionCancel flag for a search (PKCS#11
// 3.0); the others are the mechanism flags.
const ckfFindObjects = 0x00000040

// SessionCancel implements C_SessionCancel: it ends the operations named
// by flags (CKF_SIGN, CKF_VERIFY, CKF_DIGEST, CKF_FIND_OBJECTS).
func (m *Module) SessionCancel(sess, flags uint) error {
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
func (m *Module) SeedRandom(sess uint, seed []byte) error {
	if _, err := m.session(sess); err != nil {
		return err
	}
	return ck.Error(ck.CKR_RANDOM_NO_RNG)
}

// GenerateRandom implements C_GenerateRandom: the card has no random
// generator, so it never succeeds (and needs no buffer).
func (m *Module) GenerateRandom(sess uint) error {
	if _, err := m.session(sess); err != nil {
		return err
	}
	return ck.Error(ck.CKR_RANDOM_NO_RNG)
}
