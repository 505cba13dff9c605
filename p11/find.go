package p11

// This file holds C_FindObjectsInit, C_FindObjects and C_FindObjectsFinal.

import (
	"bytes"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// find returns the kinds of token k's objects that match tmpl,
// reading only the certificates it must. A certificate that cannot be
// read is simply not shown; a card that is gone is an error.
func (in *insertion) find(k tokenKind, tmpl []Attribute) ([]objKind, error) {
	types := make([]uint, len(tmpl))
	for i, t := range tmpl {
		types[i] = t.Type
	}
	var found []objKind
	for _, kind := range in.candidates(k) {
		if !staticAttrs[kind].matchesStatic(kind, tmpl) {
			continue // decided by the kind alone: no card access
		}
		if needsCert(kind, types) || !in.exists(kind) {
			a, err := in.fullAttrs(kind)
			if cardos.Gone(err) {
				return nil, err
			}
			if err != nil {
				in.log.infof("reader %q: C_FindObjectsInit: %v", in.reader, err)
				continue
			}
			if !a.matches(tmpl) {
				continue
			}
		}
		found = append(found, kind)
	}
	return found, nil
}

// exists reports whether object kind is known to exist without reading
// anything more.
func (in *insertion) exists(kind objKind) bool {
	for _, v := range in.visibleKinds(specs[kind].token) {
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
type findOp struct{ left []ObjectHandle }

// FindObjectsInit implements C_FindObjectsInit. The objects matching
// tmpl are collected now (an empty template matches all). A certificate
// is read (once per insertion) only when an object that matches tmpl on
// the attributes fixed by its kind needs it to exist or to be compared.
func (m *Module) FindObjectsInit(sess SessionHandle, tmpl []Attribute) error {
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
	if _, err := m.context(); err != nil {
		return err
	}
	kinds, err := s.c.find(s.kind, tmpl)
	if err != nil {
		return m.cardResult(s.c, err)
	}
	found := make([]ObjectHandle, len(kinds))
	for i, k := range kinds {
		found[i] = handleOf(s.c, k)
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
func (m *Module) FindObjects(sess SessionHandle, max uint) ([]ObjectHandle, error) {
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
	out := append([]ObjectHandle(nil), s.find.left[:n]...)
	s.find.left = s.find.left[n:]
	return out, nil
}

// FindObjectsFinal implements C_FindObjectsFinal.
func (m *Module) FindObjectsFinal(sess SessionHandle) error {
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
