package p11

import "github.com/myna-pkcs11/myna-pkcs11/p11/ck"

var errNotYet = ck.Error(ck.CKR_FUNCTION_NOT_SUPPORTED)

func (m *Module) SlotList(tokenPresent bool) ([]uint, error)    { return nil, errNotYet }
func (m *Module) SlotInfo(slot uint) (SlotInfo, error)          { return SlotInfo{}, errNotYet }
func (m *Module) TokenInfo(slot uint) (TokenInfo, error)        { return TokenInfo{}, errNotYet }
func (m *Module) WaitForSlotEvent(dontBlock bool) (uint, error) { return 0, errNotYet }
func (m *Module) MechanismList(slot uint) ([]uint, error)       { return nil, errNotYet }
func (m *Module) MechanismInfo(slot, mech uint) (MechanismInfo, error) {
	return MechanismInfo{}, errNotYet
}
func (m *Module) InitToken(slot uint, soPIN, label []byte) error            { return errNotYet }
func (m *Module) InitPIN(sess uint, pin []byte) error                       { return errNotYet }
func (m *Module) SetPIN(sess uint, oldPIN, newPIN []byte) error             { return errNotYet }
func (m *Module) OpenSession(slot, flags uint) (uint, error)                { return 0, errNotYet }
func (m *Module) CloseSession(sess uint) error                              { return errNotYet }
func (m *Module) CloseAllSessions(slot uint) error                          { return errNotYet }
func (m *Module) SessionInfo(sess uint) (SessionInfo, error)                { return SessionInfo{}, errNotYet }
func (m *Module) Login(sess, userType uint, pin []byte) error               { return errNotYet }
func (m *Module) LoginUser(sess, userType uint, pin, username []byte) error { return errNotYet }
func (m *Module) Logout(sess uint) error                                    { return errNotYet }
func (m *Module) SessionCancel(sess, flags uint) error                      { return errNotYet }
func (m *Module) CreateObject(sess uint, tmpl []Attribute) (uint, error)    { return 0, errNotYet }
func (m *Module) CopyObject(sess, obj uint, tmpl []Attribute) (uint, error) {
	return 0, errNotYet
}
func (m *Module) DestroyObject(sess, obj uint) error                         { return errNotYet }
func (m *Module) GetObjectSize(sess, obj uint) (uint, error)                 { return 0, errNotYet }
func (m *Module) GetAttributeValue(sess, obj uint, reqs []AttrRequest) error { return errNotYet }
func (m *Module) SetAttributeValue(sess, obj uint, tmpl []Attribute) error   { return errNotYet }
func (m *Module) FindObjectsInit(sess uint, tmpl []Attribute) error          { return errNotYet }
func (m *Module) FindObjects(sess uint, max uint) ([]uint, error)            { return nil, errNotYet }
func (m *Module) FindObjectsFinal(sess uint) error                           { return errNotYet }
func (m *Module) SignInit(sess uint, mech Mechanism, key uint) error         { return errNotYet }
func (m *Module) Sign(sess uint, data []byte, out OutBuf) ([]byte, uint, error) {
	return nil, 0, errNotYet
}
func (m *Module) SignUpdate(sess uint, part []byte) error               { return errNotYet }
func (m *Module) SignFinal(sess uint, out OutBuf) ([]byte, uint, error) { return nil, 0, errNotYet }
func (m *Module) VerifyInit(sess uint, mech Mechanism, key uint) error  { return errNotYet }
func (m *Module) Verify(sess uint, data, sig []byte) error              { return errNotYet }
func (m *Module) VerifyUpdate(sess uint, part []byte) error             { return errNotYet }
func (m *Module) VerifyFinal(sess uint, sig []byte) error               { return errNotYet }
func (m *Module) DigestInit(sess uint, mech Mechanism) error            { return errNotYet }
func (m *Module) Digest(sess uint, data []byte, out OutBuf) ([]byte, uint, error) {
	return nil, 0, errNotYet
}
func (m *Module) DigestUpdate(sess uint, part []byte) error               { return errNotYet }
func (m *Module) DigestFinal(sess uint, out OutBuf) ([]byte, uint, error) { return nil, 0, errNotYet }
func (m *Module) SeedRandom(sess uint, seed []byte) error                 { return errNotYet }
func (m *Module) GenerateRandom(sess uint, n uint) ([]byte, error)        { return nil, errNotYet }
