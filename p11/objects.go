package p11

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// objKind numbers the objects a card can show. An object handle is
// card.gen<<4 | objKind, so handles of one card insertion can never name
// an object of another card.
type objKind uint

const (
	objAuthCert objKind = iota + 1
	objAuthPub
	objAuthPriv
	objAuthCA
	objSignCert
	objSignPub
	objSignPriv
	objSignCA
)

const kindBits = 4

func handleOf(c *card, k objKind) uint { return uint(c.gen)<<kindBits | uint(k) }

// CKA_ID values: 01 for the authentication key and its certificate, 02
// for the signature key, 03 and 04 for the two CA certificates (the IDs
// OpenSC uses for this card, so that existing configurations keep
// working).
var (
	idAuth   = []byte{0x01}
	idSign   = []byte{0x02}
	idAuthCA = []byte{0x03}
	idSignCA = []byte{0x04}
)

// objectSpec describes each kind.
type objectSpec struct {
	token tokenKind
	class uint
	label string
	id    []byte
	// private objects exist only while the token is logged in.
	private bool
	ca      bool
}

var specs = map[objKind]objectSpec{
	objAuthCert: {authToken, ck.CKO_CERTIFICATE, "Authentication Certificate", idAuth, false, false},
	objAuthPub:  {authToken, ck.CKO_PUBLIC_KEY, "Authentication Key", idAuth, false, false},
	objAuthPriv: {authToken, ck.CKO_PRIVATE_KEY, "Authentication Key", idAuth, true, false},
	objAuthCA:   {authToken, ck.CKO_CERTIFICATE, "Authentication CA Certificate", idAuthCA, false, true},
	objSignCert: {signToken, ck.CKO_CERTIFICATE, "Digital Signature Certificate", idSign, false, false},
	objSignPub:  {signToken, ck.CKO_PUBLIC_KEY, "Digital Signature Key", idSign, false, false},
	objSignPriv: {signToken, ck.CKO_PRIVATE_KEY, "Digital Signature Key", idSign, true, false},
	objSignCA:   {signToken, ck.CKO_CERTIFICATE, "Digital Signature CA Certificate", idSignCA, false, true},
}

// visibleKinds returns the objects token k of card c is known to show
// now, without talking to the card (candidates and FindObjectsInit
// find the others).
//
// Visibility choice: the authentication token shows its certificate,
// public key and CA certificate without login, so that ssh-keygen -D,
// NSS and libp11 can list and match the key without a PIN; its private
// key has CKA_PRIVATE true and, as the spec says of private objects,
// only appears after C_Login (these applications log in before they look
// for the private key by CKA_ID). The signature token shows only its CA
// certificate (CKA_ID 04, EF 0002) before login: it is J-LIS's published
// CA, which the card serves without the password, and verifying a
// signature needs it; the card refuses to read the signature certificate
// without the password, and the public key comes from that certificate.
// After login it also shows the certificate and both keys, and forgets
// them at logout (the CA certificate stays).
//
// Certificates are read lazily: the certificate and public-key objects
// exist once the start of their certificate was read (the key's
// existence does not depend on it), and their other attributes are read
// when asked for.
func (c *card) visibleKinds(k tokenKind) []objKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	if k == authToken {
		var out []objKind
		if c.authHead != nil {
			out = append(out, objAuthCert, objAuthPub)
		}
		if c.loggedIn[authToken] {
			out = append(out, objAuthPriv)
		}
		if c.authCA != nil {
			out = append(out, objAuthCA)
		}
		return out
	}
	var out []objKind
	if c.loggedIn[signToken] && c.signHead != nil {
		out = append(out, objSignCert, objSignPub, objSignPriv)
	}
	if c.signCA != nil {
		out = append(out, objSignCA)
	}
	return out
}

// candidates returns the objects token k may show in its login state,
// each with the certificate whose reading decides whether it exists
// (0: it exists without reading anything more).
func (c *card) candidates(k tokenKind) []objKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	if k == authToken {
		out := []objKind{objAuthCert, objAuthPub}
		if c.loggedIn[authToken] {
			out = append(out, objAuthPriv)
		}
		return append(out, objAuthCA)
	}
	var out []objKind
	if c.loggedIn[signToken] && c.signHead != nil {
		out = append(out, objSignCert, objSignPub, objSignPriv)
	}
	return append(out, objSignCA)
}

// certOf names the certificate an object's attributes come from.
func certOf(k objKind) jpki.CertID {
	switch k {
	case objAuthCert, objAuthPub, objAuthPriv:
		return jpki.AuthCert
	case objAuthCA:
		return jpki.AuthCACert
	case objSignCA:
		return jpki.SignCACert
	}
	return jpki.SignCert
}

// object returns the kind behind handle h for session s, or
// CKR_OBJECT_HANDLE_INVALID when it is not an object the session can
// see now.
func (s *session) object(h uint) (objKind, error) {
	k := objKind(h & (1<<kindBits - 1))
	if h>>kindBits != uint(s.c.gen) {
		return 0, ck.Error(ck.CKR_OBJECT_HANDLE_INVALID)
	}
	for _, v := range s.c.visibleKinds(s.kind) {
		if v == k {
			return k, nil
		}
	}
	return 0, ck.Error(ck.CKR_OBJECT_HANDLE_INVALID)
}

// attrSet is an object's attributes: values, and the types that exist
// but are sensitive.
type attrSet struct {
	v         map[uint][]byte
	sensitive map[uint]bool
}

func ulong(v uint) []byte { return binary.NativeEndian.AppendUint64(nil, uint64(v)) }

func boolean(b bool) []byte {
	if b {
		return []byte{1}
	}
	return []byte{0}
}

// ckDate encodes a CK_DATE (YYYYMMDD as ASCII).
func ckDate(t time.Time) []byte { return []byte(t.UTC().Format("20060102")) }

// fullAttrs returns every attribute of object k, reading its
// certificate first if needed, and caches the set for the insertion (the
// signature token's until logout).
func (c *card) fullAttrs(ctx cardos.Context, k objKind) (attrSet, error) {
	c.mu.Lock()
	a, ok := c.attrs[k]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	id := certOf(k)
	if err := c.loadCert(ctx, id); err != nil {
		return attrSet{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.attrs[k]; ok {
		return a, nil
	}
	var der []byte
	var cert *x509.Certificate
	switch id {
	case jpki.AuthCert:
		der, cert = c.authCert, c.authParsed
	case jpki.SignCert:
		der, cert = c.signCert, c.signParsed
	case jpki.AuthCACert:
		der = c.authCA
	case jpki.SignCACert:
		der = c.signCA
	}
	if der == nil { // the signature certificate, gone at a logout meanwhile
		return attrSet{}, ck.Error(ck.CKR_OBJECT_HANDLE_INVALID)
	}
	der = append([]byte(nil), der...)
	if cert == nil {
		var err error
		if cert, err = x509.ParseCertificate(der); err != nil {
			return attrSet{}, fmt.Errorf("certificate does not parse: %w", ck.Error(ck.CKR_DEVICE_ERROR))
		}
	}
	a, err := buildAll(k, der, cert)
	if err != nil {
		return attrSet{}, err
	}
	if c.attrs == nil {
		c.attrs = map[objKind]attrSet{}
	}
	c.attrs[k] = a
	return a, nil
}

// parsedCert returns the parsed authentication or signature
// certificate, reading it first if needed.
func (c *card) parsedCert(ctx cardos.Context, id jpki.CertID) (*x509.Certificate, error) {
	if err := c.loadCert(ctx, id); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cert := c.authParsed
	if id == jpki.SignCert {
		cert = c.signParsed
	}
	if cert == nil {
		return nil, ck.Error(ck.CKR_KEY_HANDLE_INVALID)
	}
	return cert, nil
}

// attributes returns the attributes of object k needed to answer for
// types: the static set when none of them comes from the certificate
// (no card access), else the full set.
func (c *card) attributes(ctx cardos.Context, k objKind, types []uint) (attrSet, error) {
	if !needsCert(k, types) {
		return staticAttrs[k], nil
	}
	return c.fullAttrs(ctx, k)
}

// signMechList is CKA_ALLOWED_MECHANISMS of the keys.
func signMechList() []byte {
	var b []byte
	for _, mech := range mechanisms {
		if _, ok := signMechs[mech]; ok {
			b = append(b, ulong(mech)...)
		}
	}
	return b
}

// certDerived reports whether attribute t of object k comes from the
// certificate (reading it may cost READ BINARY commands); the others are
// fixed by the object's kind.
func certDerived(k objKind, t uint) bool {
	switch t {
	case ck.CKA_SUBJECT, ck.CKA_PUBLIC_KEY_INFO:
		return true
	case ck.CKA_VALUE, ck.CKA_ISSUER, ck.CKA_SERIAL_NUMBER, ck.CKA_CHECK_VALUE, ck.CKA_START_DATE, ck.CKA_END_DATE:
		return specs[k].class == ck.CKO_CERTIFICATE
	case ck.CKA_MODULUS, ck.CKA_MODULUS_BITS, ck.CKA_PUBLIC_EXPONENT:
		return specs[k].class != ck.CKO_CERTIFICATE
	}
	return false
}

// needsCert reports whether any of types needs object k's certificate.
func needsCert(k objKind, types []uint) bool {
	for _, t := range types {
		if certDerived(k, t) {
			return true
		}
	}
	return false
}

// staticAttrs holds, per kind, the attributes that need no certificate.
var staticAttrs = func() map[objKind]attrSet {
	m := map[objKind]attrSet{}
	for k := range specs {
		a, err := buildAttrs(k, nil, nil)
		if err != nil {
			panic(err)
		}
		m[k] = a
	}
	return m
}()

// buildAttrs builds the attributes of object k from its certificate.
// With cert nil it builds only those that are not certDerived.
func buildAttrs(k objKind, der []byte, cert *x509.Certificate) (attrSet, error) {
	if cert != nil {
		return buildAll(k, der, cert)
	}
	dummy := &x509.Certificate{PublicKey: &rsa.PublicKey{N: new(big.Int)}, SerialNumber: new(big.Int)}
	a, err := buildAll(k, nil, dummy)
	if err != nil {
		return attrSet{}, err
	}
	for t := range a.v {
		if certDerived(k, t) {
			delete(a.v, t)
		}
	}
	return a, nil
}

// buildAll builds every attribute of object k from its certificate.
func buildAll(k objKind, der []byte, cert *x509.Certificate) (attrSet, error) {
	spec := specs[k]
	a := attrSet{v: map[uint][]byte{
		ck.CKA_CLASS:       ulong(spec.class),
		ck.CKA_TOKEN:       boolean(true),
		ck.CKA_PRIVATE:     boolean(spec.private),
		ck.CKA_LABEL:       []byte(spec.label),
		ck.CKA_MODIFIABLE:  boolean(false),
		ck.CKA_COPYABLE:    boolean(false),
		ck.CKA_DESTROYABLE: boolean(false),
		ck.CKA_ID:          append([]byte(nil), spec.id...),
		ck.CKA_SUBJECT:     cert.RawSubject,
	}, sensitive: map[uint]bool{}}
	if spec.class == ck.CKO_CERTIFICATE {
		serial, err := asn1.Marshal(cert.SerialNumber)
		if err != nil {
			return attrSet{}, ck.Error(ck.CKR_DEVICE_ERROR)
		}
		sum := sha1.Sum(der)
		category := uint(ck.CK_CERTIFICATE_CATEGORY_TOKEN_USER)
		if spec.ca {
			category = ck.CK_CERTIFICATE_CATEGORY_AUTHORITY
		}
		for t, v := range map[uint][]byte{
			ck.CKA_CERTIFICATE_TYPE:           ulong(ck.CKC_X_509),
			ck.CKA_TRUSTED:                    boolean(false),
			ck.CKA_CERTIFICATE_CATEGORY:       ulong(category),
			ck.CKA_CHECK_VALUE:                sum[:3],
			ck.CKA_START_DATE:                 ckDate(cert.NotBefore),
			ck.CKA_END_DATE:                   ckDate(cert.NotAfter),
			ck.CKA_ISSUER:                     cert.RawIssuer,
			ck.CKA_SERIAL_NUMBER:              serial,
			ck.CKA_VALUE:                      der,
			ck.CKA_URL:                        {},
			ck.CKA_HASH_OF_SUBJECT_PUBLIC_KEY: {},
			ck.CKA_HASH_OF_ISSUER_PUBLIC_KEY:  {},
			ck.CKA_JAVA_MIDP_SECURITY_DOMAIN:  ulong(0),
			ck.CKA_PUBLIC_KEY_INFO:            cert.RawSubjectPublicKeyInfo,
		} {
			a.v[t] = v
		}
		return a, nil
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return attrSet{}, fmt.Errorf("the certificate does not hold an RSA key: %w", ck.Error(ck.CKR_DEVICE_ERROR))
	}
	for t, v := range map[uint][]byte{
		ck.CKA_KEY_TYPE:           ulong(ck.CKK_RSA),
		ck.CKA_START_DATE:         {},
		ck.CKA_END_DATE:           {},
		ck.CKA_DERIVE:             boolean(false),
		ck.CKA_LOCAL:              boolean(true),
		ck.CKA_KEY_GEN_MECHANISM:  ulong(ck.CKM_RSA_PKCS_KEY_PAIR_GEN),
		ck.CKA_ALLOWED_MECHANISMS: signMechList(),
		ck.CKA_MODULUS:            pub.N.Bytes(),
		ck.CKA_MODULUS_BITS:       ulong(uint(pub.N.BitLen())),
		ck.CKA_PUBLIC_EXPONENT:    big.NewInt(int64(pub.E)).Bytes(),
		ck.CKA_PUBLIC_KEY_INFO:    cert.RawSubjectPublicKeyInfo,
	} {
		a.v[t] = v
	}
	if spec.class == ck.CKO_PUBLIC_KEY {
		for t, v := range map[uint][]byte{
			ck.CKA_ENCRYPT:        boolean(false),
			ck.CKA_VERIFY:         boolean(true),
			ck.CKA_VERIFY_RECOVER: boolean(false),
			ck.CKA_WRAP:           boolean(false),
			ck.CKA_TRUSTED:        boolean(false),
		} {
			a.v[t] = v
		}
		return a, nil
	}
	for t, v := range map[uint][]byte{
		ck.CKA_SENSITIVE:           boolean(true),
		ck.CKA_DECRYPT:             boolean(false),
		ck.CKA_SIGN:                boolean(true),
		ck.CKA_SIGN_RECOVER:        boolean(false),
		ck.CKA_UNWRAP:              boolean(false),
		ck.CKA_EXTRACTABLE:         boolean(false),
		ck.CKA_ALWAYS_SENSITIVE:    boolean(true),
		ck.CKA_NEVER_EXTRACTABLE:   boolean(true),
		ck.CKA_WRAP_WITH_TRUSTED:   boolean(false),
		ck.CKA_ALWAYS_AUTHENTICATE: boolean(false),
	} {
		a.v[t] = v
	}
	for _, t := range []uint{ck.CKA_PRIVATE_EXPONENT, ck.CKA_PRIME_1, ck.CKA_PRIME_2, ck.CKA_EXPONENT_1, ck.CKA_EXPONENT_2, ck.CKA_COEFFICIENT} {
		a.sensitive[t] = true
	}
	return a, nil
}

// matches reports whether the object has every attribute of tmpl with
// the same bytes. Unknown and sensitive attributes never match.
func (a attrSet) matches(tmpl []Attribute) bool {
	for _, t := range tmpl {
		v, ok := a.v[t.Type]
		if !ok || !bytes.Equal(v, t.Value) {
			return false
		}
	}
	return true
}

// GetAttributeValue implements C_GetAttributeValue. For each request:
// a sensitive attribute gets Len CK_UNAVAILABLE_INFORMATION
// (CKR_ATTRIBUTE_SENSITIVE), an attribute the object does not have the
// same (CKR_ATTRIBUTE_TYPE_INVALID), no buffer gets the length, a large
// enough buffer gets the value, a small one CK_UNAVAILABLE_INFORMATION
// (CKR_BUFFER_TOO_SMALL). Every request is processed; the returned error
// is the first kind found in that order of precedence.
func (m *Module) GetAttributeValue(sess, obj uint, reqs []AttrRequest) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	k, err := s.object(obj)
	if err != nil {
		return err
	}
	types := make([]uint, len(reqs))
	for i, r := range reqs {
		types[i] = r.Type
	}
	var ctx cardos.Context
	if needsCert(k, types) {
		if ctx, err = m.context(); err != nil {
			return err
		}
	}
	a, err := s.c.attributes(ctx, k, types)
	if err != nil {
		return m.cardGone(s.c, err)
	}
	var sensitive, invalid, small bool
	for i := range reqs {
		r := &reqs[i]
		r.Value = nil
		v, ok := a.v[r.Type]
		switch {
		case a.sensitive[r.Type]:
			r.Len, sensitive = ck.CK_UNAVAILABLE_INFORMATION, true
		case !ok:
			r.Len, invalid = ck.CK_UNAVAILABLE_INFORMATION, true
		case !r.HasBuf:
			r.Len = uint(len(v))
		case r.BufLen >= uint(len(v)):
			r.Value, r.Len = v, uint(len(v))
		default:
			r.Len, small = ck.CK_UNAVAILABLE_INFORMATION, true
		}
	}
	switch {
	case sensitive:
		return ck.Error(ck.CKR_ATTRIBUTE_SENSITIVE)
	case invalid:
		return ck.Error(ck.CKR_ATTRIBUTE_TYPE_INVALID)
	case small:
		return ck.Error(ck.CKR_BUFFER_TOO_SMALL)
	}
	return nil
}

// GetObjectSize implements C_GetObjectSize: the total length of the
// object's attribute values.
func (m *Module) GetObjectSize(sess, obj uint) (uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return 0, err
	}
	k, err := s.object(obj)
	if err != nil {
		return 0, err
	}
	ctx, err := m.context()
	if err != nil {
		return 0, err
	}
	a, err := s.c.fullAttrs(ctx, k)
	if err != nil {
		return 0, m.cardGone(s.c, err)
	}
	var n uint
	for _, v := range a.v {
		n += uint(len(v))
	}
	return n, nil
}

// find returns the kinds (as uint) of token k's objects that match tmpl,
// reading only the certificates it must. A certificate that cannot be
// read is simply not shown; a card that is gone is an error.
func (c *card) find(ctx cardos.Context, k tokenKind, tmpl []Attribute) ([]uint, error) {
	types := make([]uint, len(tmpl))
	for i, t := range tmpl {
		types[i] = t.Type
	}
	var found []uint
	for _, kind := range c.candidates(k) {
		if !staticAttrs[kind].matchesStatic(kind, tmpl) {
			continue // decided by the kind alone: no card access
		}
		if needsCert(kind, types) || !c.exists(kind) {
			a, err := c.fullAttrs(ctx, kind)
			if ck.RV(err) == ck.CKR_DEVICE_REMOVED {
				return nil, err
			}
			if err != nil {
				c.log.infof("reader %q: C_FindObjectsInit: %v", c.reader, err)
				continue
			}
			if !a.matches(tmpl) {
				continue
			}
		}
		found = append(found, uint(kind))
	}
	return found, nil
}

// exists reports whether object kind is known to exist without reading
// anything more.
func (c *card) exists(kind objKind) bool {
	for _, v := range c.visibleKinds(specs[kind].token) {
		if v == kind {
			return true
		}
	}
	return false
}

// matchesStatic is matches for object kind's static attribute set:
// certDerived attributes, which it does not hold, are left for the full
// set to decide; any other attribute it does not hold never matches.
func (a attrSet) matchesStatic(kind objKind, tmpl []Attribute) bool {
	for _, t := range tmpl {
		v, ok := a.v[t.Type]
		switch {
		case ok && !bytes.Equal(v, t.Value):
			return false
		case !ok && !certDerived(kind, t.Type):
			return false
		}
	}
	return true
}

// findOp is an active C_FindObjects search: the handles still to return.
type findOp struct{ left []uint }

// FindObjectsInit implements C_FindObjectsInit. The objects matching
// tmpl are collected now (an empty template matches all). A certificate
// is read (once per insertion) only when an object that matches tmpl on
// the attributes fixed by its kind needs it to exist or to be compared.
func (m *Module) FindObjectsInit(sess uint, tmpl []Attribute) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	active := s.find != nil
	s.mu.Unlock()
	if active {
		return ck.Error(ck.CKR_OPERATION_ACTIVE)
	}
	// Notice a swapped or removed card before showing its objects.
	if err := m.refresh(); err != nil {
		return err
	}
	if s, err = m.session(sess); err != nil {
		return err
	}
	ctx, err := m.context()
	if err != nil {
		return err
	}
	found, err := s.c.find(ctx, s.kind, tmpl)
	if err != nil {
		return m.cardGone(s.c, err)
	}
	for i := range found {
		found[i] = handleOf(s.c, objKind(found[i]))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find != nil {
		return ck.Error(ck.CKR_OPERATION_ACTIVE)
	}
	s.find = &findOp{left: found}
	return nil
}

// FindObjects implements C_FindObjects.
func (m *Module) FindObjects(sess uint, max uint) ([]uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find == nil {
		return nil, ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	n := min(max, uint(len(s.find.left)))
	out := append([]uint(nil), s.find.left[:n]...)
	s.find.left = s.find.left[n:]
	return out, nil
}

// FindObjectsFinal implements C_FindObjectsFinal.
func (m *Module) FindObjectsFinal(sess uint) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find == nil {
		return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	s.find = nil
	return nil
}

// writeProtected is the answer to every attempt to create, copy, change
// or destroy an object, in a read-only or a read/write session: the token
// is write-protected (CKF_WRITE_PROTECTED: the card holds only what its
// issuer wrote), and CKR_TOKEN_WRITE_PROTECTED outranks
// CKR_SESSION_READ_ONLY (v2.40 and 3.0 §5.1.6). Session objects
// (CKA_TOKEN false) are refused the same way: a write-protected token
// may refuse "creating/modifying/deleting any object on the token"
// (v2.40 §3.2, CK_TOKEN_INFO), and one would be of no use here: the card
// signs only with its own keys, and an application verifying with a key
// of its own does so in its own software (SunPKCS11 falls back to the
// next provider).
func (m *Module) writeProtected(fn string, s *session) error {
	m.log.infof("%s: session %d: the token is write-protected: no object can be created, copied, changed or destroyed, session objects included", fn, s.id)
	return ck.Error(ck.CKR_TOKEN_WRITE_PROTECTED)
}

// CreateObject implements C_CreateObject: refused (see writeProtected).
func (m *Module) CreateObject(sess uint, tmpl []Attribute) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	return m.writeProtected("C_CreateObject", s)
}

// CopyObject implements C_CopyObject: refused (see writeProtected; the
// objects' CKA_COPYABLE is false too).
func (m *Module) CopyObject(sess, obj uint, tmpl []Attribute) error {
	return m.changeObject("C_CopyObject", sess, obj)
}

// DestroyObject implements C_DestroyObject: refused (see writeProtected;
// CKA_DESTROYABLE is false too).
func (m *Module) DestroyObject(sess, obj uint) error {
	return m.changeObject("C_DestroyObject", sess, obj)
}

// SetAttributeValue implements C_SetAttributeValue: refused (see
// writeProtected; CKA_MODIFIABLE is false too).
func (m *Module) SetAttributeValue(sess, obj uint, tmpl []Attribute) error {
	return m.changeObject("C_SetAttributeValue", sess, obj)
}

// changeObject is the answer of fn to a change of object obj: the
// handle's checks, then writeProtected.
func (m *Module) changeObject(fn string, sess, obj uint) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	if _, err := s.object(obj); err != nil {
		return err
	}
	return m.writeProtected(fn, s)
}
