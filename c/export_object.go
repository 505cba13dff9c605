package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
)

//export goCreateObject
func goCreateObject(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phObject C.CK_OBJECT_HANDLE_PTR) (r C.CK_RV) {
	t := trace("C_CreateObject")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.template("pTemplate", pTemplate, ulCount)
	outNum(t, "phObject", phObject, false)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	tmpl, ok := inTemplate(pTemplate, ulCount)
	if !ok || phObject == nil {
		return rvArgsBad
	}
	// The token is write-protected: p11 only checks the session.
	return rv(mod.CreateObject(p11.SessionHandle(hSession), tmpl))
}

//export goCopyObject
func goCopyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phNewObject C.CK_OBJECT_HANDLE_PTR) (r C.CK_RV) {
	t := trace("C_CopyObject")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("hObject", uint(hObject))
	t.template("pTemplate", pTemplate, ulCount)
	outNum(t, "phNewObject", phNewObject, false)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	tmpl, ok := inTemplate(pTemplate, ulCount)
	if !ok || phNewObject == nil {
		return rvArgsBad
	}
	// The token is write-protected: p11 only checks the handles.
	return rv(mod.CopyObject(p11.SessionHandle(hSession), p11.ObjectHandle(hObject), tmpl))
}

//export goDestroyObject
func goDestroyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE) (r C.CK_RV) {
	t := trace("C_DestroyObject")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("hObject", uint(hObject))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.DestroyObject(p11.SessionHandle(hSession), p11.ObjectHandle(hObject)))
}

//export goGetObjectSize
func goGetObjectSize(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pulSize C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_GetObjectSize")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("hObject", uint(hObject))
	outNum(t, "pulSize", pulSize, false)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pulSize == nil {
		return rvArgsBad
	}
	n, err := mod.GetObjectSize(p11.SessionHandle(hSession), p11.ObjectHandle(hObject))
	if err != nil {
		return rv(err)
	}
	*pulSize = C.CK_ULONG(n)
	return rvOK
}

//export goGetAttributeValue
func goGetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_GetAttributeValue")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("hObject", uint(hObject))
	t.outTemplate(pTemplate, ulCount)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if (pTemplate == nil && ulCount != 0) || ulCount > maxCount {
		return rvArgsBad
	}
	var tmpl []C.CK_ATTRIBUTE
	if ulCount > 0 {
		tmpl = unsafe.Slice(pTemplate, int(ulCount))
	}
	reqs := make([]p11.AttrRequest, len(tmpl))
	for i := range tmpl {
		reqs[i] = p11.AttrRequest{
			Type:   uint(tmpl[i]._type),
			HasBuf: tmpl[i].pValue != nil,
			BufLen: uint(tmpl[i].ulValueLen),
		}
	}
	r = rv(mod.GetAttributeValue(p11.SessionHandle(hSession), p11.ObjectHandle(hObject), reqs))
	switch r {
	case rvOK, rvSensitive, rvTypeInvalid, rvTooSmall:
	default:
		return r
	}
	for i := range reqs {
		q := &reqs[i]
		if q.HasBuf && q.Value != nil {
			if uint(len(q.Value)) > q.BufLen {
				return rvGeneral // the core broke its contract; never overrun the caller
			}
			copy(unsafe.Slice((*byte)(tmpl[i].pValue), len(q.Value)), q.Value)
		}
		tmpl[i].ulValueLen = C.CK_ULONG(q.Len)
	}
	return r
}

//export goSetAttributeValue
func goSetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_SetAttributeValue")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("hObject", uint(hObject))
	t.template("pTemplate", pTemplate, ulCount)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	tmpl, ok := inTemplate(pTemplate, ulCount)
	if !ok {
		return rvArgsBad
	}
	return rv(mod.SetAttributeValue(p11.SessionHandle(hSession), p11.ObjectHandle(hObject), tmpl))
}

//export goFindObjectsInit
func goFindObjectsInit(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_FindObjectsInit")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.template("pTemplate", pTemplate, ulCount)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	tmpl, ok := inTemplate(pTemplate, ulCount)
	if !ok {
		return rvArgsBad
	}
	return rv(mod.FindObjectsInit(p11.SessionHandle(hSession), tmpl))
}

//export goFindObjects
func goFindObjects(hSession C.CK_SESSION_HANDLE, phObject C.CK_OBJECT_HANDLE_PTR, ulMaxObjectCount C.CK_ULONG, pulObjectCount C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_FindObjects")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("ulMaxObjectCount", uint(ulMaxObjectCount))
	outList(t, "phObject", phObject, pulObjectCount, fmtUint)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pulObjectCount == nil || (phObject == nil && ulMaxObjectCount != 0) {
		return rvArgsBad
	}
	objs, err := mod.FindObjects(p11.SessionHandle(hSession), uint(ulMaxObjectCount))
	if err != nil {
		return rv(err)
	}
	n := min(uint(len(objs)), uint(ulMaxObjectCount))
	if n > 0 {
		dst := unsafe.Slice(phObject, int(n))
		for i := range dst {
			dst[i] = C.CK_OBJECT_HANDLE(objs[i])
		}
	}
	*pulObjectCount = C.CK_ULONG(n)
	return rvOK
}

//export goFindObjectsFinal
func goFindObjectsFinal(hSession C.CK_SESSION_HANDLE) (r C.CK_RV) {
	t := trace("C_FindObjectsFinal")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.FindObjectsFinal(p11.SessionHandle(hSession)))
}
