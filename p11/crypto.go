package p11

import (
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // register the hashes the mechanisms use
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"hash"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// mechTable is every mechanism the tokens offer, in the order
// C_GetMechanismList lists them: RSA PKCS#1 v1.5 signing on the card
// (the caller's bytes, or a hash computed here wrapped in a DigestInfo)
// and software digests. There is no PSS, no decryption, no raw RSA: the
// card cannot do them.
var mechTable = []struct {
	typ  MechanismType
	hash crypto.Hash // computed here; 0 for CKM_RSA_PKCS (the caller's bytes as given)
	sign bool        // a signing mechanism (else a digest)
}{
	{ck.CKM_RSA_PKCS, 0, true},
	{ck.CKM_SHA1_RSA_PKCS, crypto.SHA1, true},
	{ck.CKM_SHA224_RSA_PKCS, crypto.SHA224, true},
	{ck.CKM_SHA256_RSA_PKCS, crypto.SHA256, true},
	{ck.CKM_SHA384_RSA_PKCS, crypto.SHA384, true},
	{ck.CKM_SHA512_RSA_PKCS, crypto.SHA512, true},
	{ck.CKM_SHA_1, crypto.SHA1, false},
	{ck.CKM_SHA224, crypto.SHA224, false},
	{ck.CKM_SHA256, crypto.SHA256, false},
	{ck.CKM_SHA384, crypto.SHA384, false},
	{ck.CKM_SHA512, crypto.SHA512, false},
}

// mechanisms, signMechs (signing mechanism → hash computed here) and
// hashes (digest mechanism → hash) are mechTable by use.
var mechanisms, signMechs, hashes = func() ([]MechanismType, map[MechanismType]crypto.Hash, map[MechanismType]crypto.Hash) {
	list, sign, digest := []MechanismType{}, map[MechanismType]crypto.Hash{}, map[MechanismType]crypto.Hash{}
	for _, m := range mechTable {
		list = append(list, m.typ)
		if m.sign {
			sign[m.typ] = m.hash
		} else {
			digest[m.typ] = m.hash
		}
	}
	return list, sign, digest
}()

// pkcsOp is the data part of a sign or verify operation.
type pkcsOp struct {
	mech  MechanismType
	h     crypto.Hash
	hash  hash.Hash // multi-part state for hashing mechanisms
	raw   []byte    // CKM_RSA_PKCS: collected input
	multi bool      // an Update was called
	// check says whether the card can sign raw input of n bytes (the
	// card layer's CheckSignInput).
	check func(n int) error
}

func newPKCSOp(mech MechanismType, check func(n int) error) *pkcsOp {
	op := &pkcsOp{mech: mech, h: signMechs[mech], check: check}
	if op.h != 0 {
		op.hash = op.h.New()
	}
	return op
}

// update adds a part. CKM_RSA_PKCS takes at most 245 bytes in all.
func (op *pkcsOp) update(part []byte) error {
	op.multi = true
	if op.hash != nil {
		op.hash.Write(part)
		return nil
	}
	if err := op.check(len(op.raw) + len(part)); err != nil {
		return ckrOf(fmt.Errorf("CKM_RSA_PKCS: %w", err))
	}
	op.raw = append(op.raw, part...)
	return nil
}

// input returns the bytes the card signs: the DigestInfo of the hash, or
// the raw input (1 to 245 bytes).
func (op *pkcsOp) input() ([]byte, error) {
	if op.hash != nil {
		return pkcs1.DigestInfo(op.h, op.hash.Sum(nil)), nil
	}
	if err := op.check(len(op.raw)); err != nil {
		return nil, ckrOf(fmt.Errorf("CKM_RSA_PKCS: %w", err))
	}
	return op.raw, nil
}

// signOp is an active signing operation.
type signOp struct {
	*pkcsOp
	key objKind
}

// verifyOp is an active verification.
type verifyOp struct {
	*pkcsOp
	pub *rsa.PublicKey
}

// digestOp is an active digest.
type digestOp struct {
	h     hash.Hash
	multi bool
	sum   []byte // computed result kept for the size protocol
}

// checkMech validates a sign/verify mechanism.
func checkMech(mech Mechanism) error {
	if _, ok := signMechs[mech.Type]; !ok {
		return fmt.Errorf("%s: %w", ck.MechName(uint(mech.Type)), ck.Error(ck.CKR_MECHANISM_INVALID))
	}
	if len(mech.Param) != 0 {
		return ck.Error(ck.CKR_MECHANISM_PARAM_INVALID)
	}
	return nil
}

// keyFor resolves a key handle of the session's card and token, keeping
// "exists but needs login" apart from "not a key".
func (s *session) keyFor(h ObjectHandle) (objKind, error) {
	k, mine := s.c.kindOf(h)
	spec, ok := specs[k]
	if !mine || !ok || spec.token != s.kind {
		return 0, ck.Error(ck.CKR_KEY_HANDLE_INVALID)
	}
	if spec.private && !s.c.card.LoggedIn(s.kind) {
		return 0, ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
	}
	if _, err := s.object(h); err != nil {
		return 0, ck.Error(ck.CKR_KEY_HANDLE_INVALID)
	}
	if spec.class == ck.CKO_CERTIFICATE {
		return 0, ck.Error(ck.CKR_KEY_HANDLE_INVALID)
	}
	return k, nil
}

// opKey checks mech and that key is a key of class on the session's
// token, for C_SignInit and C_VerifyInit; the caller holds s.mu.
func (s *session) opKey(mech Mechanism, key ObjectHandle, class uint) (objKind, error) {
	if err := checkMech(mech); err != nil {
		return 0, err
	}
	k, err := s.keyFor(key)
	if err != nil {
		return 0, err
	}
	if specs[k].class != class {
		return 0, ck.Error(ck.CKR_KEY_FUNCTION_NOT_PERMITTED)
	}
	return k, nil
}

// SignInit implements C_SignInit. Only the private keys sign, and only
// while the token is logged in.
func (m *Module) SignInit(sess SessionHandle, mech Mechanism, key ObjectHandle) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sign != nil {
		return ck.Error(ck.CKR_OPERATION_ACTIVE)
	}
	k, err := s.opKey(mech, key, ck.CKO_PRIVATE_KEY)
	if err != nil {
		return err
	}
	s.sign = &signOp{pkcsOp: newPKCSOp(mech.Type, s.c.card.CheckSignInput), key: k}
	m.log.debugf("C_SignInit: session %d %s", sess, ck.MechName(uint(mech.Type)))
	return nil
}

// Sign implements C_Sign. With out.Nil it returns the length needed and
// the operation stays active; a buffer that is too small gives
// CKR_BUFFER_TOO_SMALL with the length, the operation staying active.
// Any other outcome ends the operation. The card is only asked once the
// buffer is large enough, so the size query costs no signature.
func (m *Module) Sign(sess SessionHandle, data []byte, out OutBuf) ([]byte, uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.sign
	if op == nil {
		return nil, 0, ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	if op.multi {
		s.sign = nil
		return nil, 0, fmt.Errorf("C_Sign after C_SignUpdate: %w", ck.Error(ck.CKR_OPERATION_ACTIVE))
	}
	if err := op.check(len(data)); op.hash == nil && err != nil {
		s.sign = nil
		return nil, 0, ckrOf(fmt.Errorf("CKM_RSA_PKCS: %w", err))
	}
	signatureLen := uint(s.c.card.SignatureLen(s.kind))
	if out.Nil {
		return nil, signatureLen, nil
	}
	if out.Len < signatureLen {
		return nil, signatureLen, ck.Error(ck.CKR_BUFFER_TOO_SMALL)
	}
	s.sign = nil
	if op.hash != nil {
		op.hash.Write(data)
	} else {
		op.raw = data
	}
	sig, err := m.signOnCard(s, op)
	return sig, uint(len(sig)), err
}

// SignUpdate implements C_SignUpdate.
func (m *Module) SignUpdate(sess SessionHandle, part []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sign == nil {
		return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	if err := s.sign.update(part); err != nil {
		s.sign = nil
		return err
	}
	return nil
}

// SignFinal implements C_SignFinal, with the same size protocol as Sign.
func (m *Module) SignFinal(sess SessionHandle, out OutBuf) ([]byte, uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.sign
	if op == nil {
		return nil, 0, ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	signatureLen := uint(s.c.card.SignatureLen(s.kind))
	if out.Nil {
		return nil, signatureLen, nil
	}
	if out.Len < signatureLen {
		return nil, signatureLen, ck.Error(ck.CKR_BUFFER_TOO_SMALL)
	}
	s.sign = nil
	sig, err := m.signOnCard(s, op)
	return sig, uint(len(sig)), err
}

// signOnCard has the card sign the operation's input; the caller holds
// s.mu and has ended the operation.
func (m *Module) signOnCard(s *session, op *signOp) ([]byte, error) {
	in, err := op.input()
	if err != nil {
		return nil, err
	}
	if !s.c.card.LoggedIn(s.kind) {
		return nil, ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
	}
	if _, err := m.context(); err != nil {
		return nil, err
	}
	sig, err := s.c.card.Sign(s.kind, in)
	if err != nil {
		return nil, m.cardResult(s.c, err)
	}
	return sig, nil
}

// VerifyInit implements C_VerifyInit: verification runs in software with
// the public key of the certificate.
func (m *Module) VerifyInit(sess SessionHandle, mech Mechanism, key ObjectHandle) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verify != nil {
		return ck.Error(ck.CKR_OPERATION_ACTIVE)
	}
	k, err := s.opKey(mech, key, ck.CKO_PUBLIC_KEY)
	if err != nil {
		return err
	}
	if _, err := m.context(); err != nil {
		return err
	}
	cert, err := s.c.parsedCert(certOf(k))
	if err != nil {
		return m.cardResult(s.c, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return ck.Error(ck.CKR_KEY_TYPE_INCONSISTENT)
	}
	s.verify = &verifyOp{pkcsOp: newPKCSOp(mech.Type, s.c.card.CheckSignInput), pub: pub}
	return nil
}

// finishVerify checks sig over the operation's data.
func finishVerify(op *verifyOp, sig []byte) error {
	if len(sig) != (op.pub.N.BitLen()+7)/8 {
		return ck.Error(ck.CKR_SIGNATURE_LEN_RANGE)
	}
	var hashed []byte
	if op.hash != nil {
		hashed = op.hash.Sum(nil)
	} else {
		in, err := op.input()
		if err != nil {
			return err
		}
		hashed = in
	}
	if err := rsa.VerifyPKCS1v15(op.pub, op.h, hashed, sig); err != nil {
		return ck.Error(ck.CKR_SIGNATURE_INVALID)
	}
	return nil
}

// Verify implements C_Verify. The operation ends whatever the result.
func (m *Module) Verify(sess SessionHandle, data, sig []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.verify
	if op == nil {
		return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	s.verify = nil
	if op.multi {
		return fmt.Errorf("C_Verify after C_VerifyUpdate: %w", ck.Error(ck.CKR_OPERATION_ACTIVE))
	}
	if op.hash != nil {
		op.hash.Write(data)
	} else {
		op.raw = data
	}
	return finishVerify(op, sig)
}

// VerifyUpdate implements C_VerifyUpdate.
func (m *Module) VerifyUpdate(sess SessionHandle, part []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verify == nil {
		return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	if err := s.verify.update(part); err != nil {
		s.verify = nil
		return err
	}
	return nil
}

// VerifyFinal implements C_VerifyFinal.
func (m *Module) VerifyFinal(sess SessionHandle, sig []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.verify
	if op == nil {
		return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	s.verify = nil
	return finishVerify(op, sig)
}

// DigestInit implements C_DigestInit (software SHA-1/224/256/384/512).
func (m *Module) DigestInit(sess SessionHandle, mech Mechanism) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.digest != nil {
		return ck.Error(ck.CKR_OPERATION_ACTIVE)
	}
	h, ok := hashes[mech.Type]
	if !ok {
		return fmt.Errorf("%s: %w", ck.MechName(uint(mech.Type)), ck.Error(ck.CKR_MECHANISM_INVALID))
	}
	if len(mech.Param) != 0 {
		return ck.Error(ck.CKR_MECHANISM_PARAM_INVALID)
	}
	s.digest = &digestOp{h: h.New()}
	return nil
}

// digestOut applies the size protocol to a finished digest; the caller
// holds s.mu.
func (s *session) digestOut(op *digestOp, out OutBuf) ([]byte, uint, error) {
	n := uint(len(op.sum))
	if out.Nil {
		return nil, n, nil
	}
	if out.Len < n {
		return nil, n, ck.Error(ck.CKR_BUFFER_TOO_SMALL)
	}
	s.digest = nil
	return op.sum, n, nil
}

// Digest implements C_Digest, with the size protocol of Sign.
func (m *Module) Digest(sess SessionHandle, data []byte, out OutBuf) ([]byte, uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.digest
	if op == nil {
		return nil, 0, ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	if op.multi {
		s.digest = nil
		return nil, 0, fmt.Errorf("C_Digest after C_DigestUpdate: %w", ck.Error(ck.CKR_OPERATION_ACTIVE))
	}
	if op.sum == nil {
		op.h.Write(data)
		op.sum = op.h.Sum(nil)
	}
	return s.digestOut(op, out)
}

// DigestUpdate implements C_DigestUpdate.
func (m *Module) DigestUpdate(sess SessionHandle, part []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.digest
	if op == nil {
		return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	if op.sum != nil {
		s.digest = nil
		return ck.Error(ck.CKR_OPERATION_ACTIVE)
	}
	op.multi = true
	op.h.Write(part)
	return nil
}

// DigestFinal implements C_DigestFinal, with the size protocol of Sign.
func (m *Module) DigestFinal(sess SessionHandle, out OutBuf) ([]byte, uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.digest
	if op == nil {
		return nil, 0, ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	if op.sum == nil {
		op.sum = op.h.Sum(nil)
	}
	return s.digestOut(op, out)
}

// ArgumentsBad answers a call of the sign, verify or digest functions
// whose arguments the C layer could not use (a NULL length pointer, a
// NULL buffer with a length): CKR_ARGUMENTS_BAD, ending the operations
// named by flags (CKF_SIGN, CKF_VERIFY or CKF_DIGEST, as for
// C_SessionCancel). Every error return of C_Sign, C_SignUpdate,
// C_SignFinal, C_Verify*, C_Digest and C_DigestUpdate/Final ends the
// active operation, CKR_BUFFER_TOO_SMALL excepted (v2.40 §5.10.2-5.10.5,
// §5.11.2-5.11.4, §5.12.2-5.12.4). An invalid session handle outranks
// the bad argument (v2.40 §5.1.7: §5.1.2 codes before §5.1.6 ones).
func (m *Module) ArgumentsBad(fn string, sess SessionHandle, flags uint) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.end(flags)
	m.log.infof("%s: session %d: a NULL pointer where the call needs one, or a NULL buffer with a length: CKR_ARGUMENTS_BAD; the operation is ended", fn, sess)
	return ck.Error(ck.CKR_ARGUMENTS_BAD)
}
