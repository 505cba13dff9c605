package p11

import (
	"github.com/myna-pkcs11/myna-pkcs11/cardos"
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

func handleOf(in *insertion, k objKind) ObjectHandle {
	return ObjectHandle(in.gen)<<kindBits | ObjectHandle(k)
}

// kindOf decodes a handle made by handleOf: the object kind, and whether
// the handle belongs to this insertion of the card at all.
func (in *insertion) kindOf(h ObjectHandle) (objKind, bool) {
	return objKind(h & (1<<kindBits - 1)), h>>kindBits == ObjectHandle(in.gen)
}

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
func (in *insertion) visibleKinds(k tokenKind) []objKind {
	c := in.card
	if c.Removed() {
		return nil
	}
	if k == authToken {
		var out []objKind
		if c.Shows(cardos.AuthCert) {
			out = append(out, objAuthCert, objAuthPub)
		}
		if c.LoggedIn(authToken) {
			out = append(out, objAuthPriv)
		}
		if c.Shows(cardos.AuthCACert) {
			out = append(out, objAuthCA)
		}
		return out
	}
	var out []objKind
	if c.Shows(cardos.SignCert) {
		out = append(out, objSignCert, objSignPub, objSignPriv)
	}
	if c.Shows(cardos.SignCACert) {
		out = append(out, objSignCA)
	}
	return out
}

// candidates returns the objects token k may show in its login state,
// each with the certificate whose reading decides whether it exists
// (0: it exists without reading anything more).
func (in *insertion) candidates(k tokenKind) []objKind {
	c := in.card
	if c.Removed() {
		return nil
	}
	if k == authToken {
		out := []objKind{objAuthCert, objAuthPub}
		if c.LoggedIn(authToken) {
			out = append(out, objAuthPriv)
		}
		return append(out, objAuthCA)
	}
	var out []objKind
	if c.Shows(cardos.SignCert) {
		out = append(out, objSignCert, objSignPub, objSignPriv)
	}
	return append(out, objSignCA)
}

// certOf names the certificate an object's attributes come from.
func certOf(k objKind) cardos.CertID {
	switch k {
	case objAuthCert, objAuthPub, objAuthPriv:
		return cardos.AuthCert
	case objAuthCA:
		return cardos.AuthCACert
	case objSignCA:
		return cardos.SignCACert
	}
	return cardos.SignCert
}

// object returns the kind behind handle h for session s, or
// CKR_OBJECT_HANDLE_INVALID when it is not an object the session can
// see now.
func (s *session) object(h ObjectHandle) (objKind, error) {
	k, ok := s.c.kindOf(h)
	if !ok {
		return 0, ck.Error(ck.CKR_OBJECT_HANDLE_INVALID)
	}
	for _, v := range s.c.visibleKinds(s.kind) {
		if v == k {
			return k, nil
		}
	}
	return 0, ck.Error(ck.CKR_OBJECT_HANDLE_INVALID)
}
