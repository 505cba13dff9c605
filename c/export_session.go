package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"
)

//export goOpenSession
func goOpenSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS, pApplication C.CK_VOID_PTR, notify C.CK_NOTIFY, phSession C.CK_SESSION_HANDLE_PTR) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	// pApplication and Notify are not kept: the module sends no callbacks.
	_, _ = pApplication, notify
	if phSession == nil {
		return rvArgsBad
	}
	h, err := mod.OpenSession(uint(slotID), uint(flags))
	if err != nil {
		return rv(err)
	}
	*phSession = C.CK_SESSION_HANDLE(h)
	return rvOK
}

//export goCloseSession
func goCloseSession(hSession C.CK_SESSION_HANDLE) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.CloseSession(uint(hSession)))
}

//export goCloseAllSessions
func goCloseAllSessions(slotID C.CK_SLOT_ID) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.CloseAllSessions(uint(slotID)))
}

//export goGetSessionInfo
func goGetSessionInfo(hSession C.CK_SESSION_HANDLE, pInfo C.CK_SESSION_INFO_PTR) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pInfo == nil {
		return rvArgsBad
	}
	info, err := mod.SessionInfo(uint(hSession))
	if err != nil {
		return rv(err)
	}
	*pInfo = C.CK_SESSION_INFO{
		slotID:        C.CK_SLOT_ID(info.SlotID),
		state:         C.CK_STATE(info.State),
		flags:         C.CK_FLAGS(info.Flags),
		ulDeviceError: C.CK_ULONG(info.DeviceError),
	}
	return rvOK
}

//export goSessionCancel
func goSessionCancel(hSession C.CK_SESSION_HANDLE, flags C.CK_FLAGS) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.SessionCancel(uint(hSession), uint(flags)))
}

//export goLogin
func goLogin(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	pin, ok := inBytes(unsafe.Pointer(pPin), ulPinLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(pin) // the core keeps no reference; drop our copy
	return rv(mod.Login(uint(hSession), uint(userType), pin))
}

//export goLoginUser
func goLoginUser(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG, pUsername C.CK_UTF8CHAR_PTR, ulUsernameLen C.CK_ULONG) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	pin, ok := inBytes(unsafe.Pointer(pPin), ulPinLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(pin)
	user, ok := inBytes(unsafe.Pointer(pUsername), ulUsernameLen)
	if !ok {
		return rvArgsBad
	}
	return rv(mod.LoginUser(uint(hSession), uint(userType), pin, user))
}

//export goLogout
func goLogout(hSession C.CK_SESSION_HANDLE) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.Logout(uint(hSession)))
}

//export goInitPIN
func goInitPIN(hSession C.CK_SESSION_HANDLE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	pin, ok := inBytes(unsafe.Pointer(pPin), ulPinLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(pin)
	return rv(mod.InitPIN(uint(hSession), pin))
}

//export goSetPIN
func goSetPIN(hSession C.CK_SESSION_HANDLE, pOldPin C.CK_UTF8CHAR_PTR, ulOldLen C.CK_ULONG, pNewPin C.CK_UTF8CHAR_PTR, ulNewLen C.CK_ULONG) (r C.CK_RV) {
	defer guard(&r)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	oldPIN, ok := inBytes(unsafe.Pointer(pOldPin), ulOldLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(oldPIN)
	newPIN, ok := inBytes(unsafe.Pointer(pNewPin), ulNewLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(newPIN)
	return rv(mod.SetPIN(uint(hSession), oldPIN, newPIN))
}
