package p11

// This file holds the attributes of the objects: built from the
// certificates (read lazily, once) and served by C_GetAttributeValue.

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
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

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
// certificate first if needed. The sets of the public objects are cached
// for the insertion; the signature token's are built each time from the
// certificate the card layer holds while the token is logged in, so that
// nothing of it outlives the login. An authentication certificate the
// credential keeps behind the PIN (smartphone JPKI) is cached too, but
// served only while the card layer shows it, that is while logged in.
func (in *insertion) fullAttrs(k objKind) (attrSet, error) {
	id := certOf(k)
	in.mu.Lock()
	a, ok := in.attrs[k]
	in.mu.Unlock()
	if ok && (id != cardos.AuthCert || in.card.Shows(id)) {
		return a, nil
	}
	der, cert, err := in.card.Cert(id)
	if err != nil {
		return attrSet{}, err
	}
	if a, err = buildAll(k, der, cert); err != nil {
		return attrSet{}, err
	}
	if id == cardos.SignCert {
		return a, nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.attrs == nil {
		in.attrs = map[objKind]attrSet{}
	}
	in.attrs[k] = a
	return a, nil
}

// parsedCert returns the parsed authentication or signature
// certificate, reading it first if needed.
func (in *insertion) parsedCert(id cardos.CertID) (*x509.Certificate, error) {
	_, cert, err := in.card.Cert(id)
	return cert, err
}

// attributes returns the attributes of object k needed to answer for
// types: the static set when none of them comes from the certificate
// (no card access), else the full set.
func (in *insertion) attributes(k objKind, types []uint) (attrSet, error) {
	if !needsCert(k, types) {
		return staticAttrs[k], nil
	}
	return in.fullAttrs(k)
}

// signMechList is CKA_ALLOWED_MECHANISMS of the keys.
func signMechList() []byte {
	var b []byte
	for _, mech := range mechanisms {
		if _, ok := signMechs[mech]; ok {
			b = append(b, ulong(uint(mech))...)
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
func (m *Module) GetAttributeValue(sess SessionHandle, obj ObjectHandle, reqs []AttrRequest) error {
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
	if needsCert(k, types) {
		if _, err = m.context(); err != nil {
			return err
		}
	}
	a, err := s.c.attributes(k, types)
	if err != nil {
		return m.cardResult(s.c, err)
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
func (m *Module) GetObjectSize(sess SessionHandle, obj ObjectHandle) (uint, error) {
	s, err := m.session(sess)
	if err != nil {
		return 0, err
	}
	k, err := s.object(obj)
	if err != nil {
		return 0, err
	}
	if _, err := m.context(); err != nil {
		return 0, err
	}
	a, err := s.c.fullAttrs(k)
	if err != nil {
		return 0, m.cardResult(s.c, err)
	}
	var n uint
	for _, v := range a.v {
		n += uint(len(v))
	}
	return n, nil
}
