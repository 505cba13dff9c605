package main

/*
#include "cabi.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
)

//export goOpenSession
func goOpenSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS, pApplication C.CK_VOID_PTR, notify C.CK_NOTIFY, phSession C.CK_SESSION_HANDLE_PTR) (r C.CK_RV) {
	t := trace("C_OpenSession")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	t.flags("flags", uint(flags), sessionFlags)
	t.ptr("pApplication", unsafe.Pointer(pApplication))
	t.ptr("Notify", unsafe.Pointer(notify))
	outNum(t, "phSession", phSession, false)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	// pApplication and Notify are not kept: the module sends no callbacks.
	_, _ = pApplication, notify
	if phSession == nil {
		return rvArgsBad
	}
	h, err := mod.OpenSession(p11.SlotID(slotID), uint(flags))
	if err != nil {
		return rv(err)
	}
	*phSession = C.CK_SESSION_HANDLE(h)
	return rvOK
}

//export goCloseSession
func goCloseSession(hSession C.CK_SESSION_HANDLE) (r C.CK_RV) {
	t := trace("C_CloseSession")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.CloseSession(p11.SessionHandle(hSession)))
}

//export goCloseAllSessions
func goCloseAllSessions(slotID C.CK_SLOT_ID) (r C.CK_RV) {
	t := trace("C_CloseAllSessions")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.CloseAllSessions(p11.SlotID(slotID)))
}

//export goGetSessionInfo
func goGetSessionInfo(hSession C.CK_SESSION_HANDLE, pInfo C.CK_SESSION_INFO_PTR) (r C.CK_RV) {
	t := trace("C_GetSessionInfo")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.out(func() string {
		return fmt.Sprintf("slotID=%d, state=%s, flags=%s", pInfo.slotID, enumName(uint(pInfo.state), states), fmtFlags(uint(pInfo.flags), sessionFlags))
	})
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pInfo == nil {
		return rvArgsBad
	}
	info, err := mod.SessionInfo(p11.SessionHandle(hSession))
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
	t := trace("C_SessionCancel")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.flags("flags", uint(flags), mechFlags)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.SessionCancel(p11.SessionHandle(hSession), uint(flags)))
}

//export goLogin
func goLogin(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_Login")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.arg("userType", enumName(uint(userType), userTypes))
	t.secret("pPin", unsafe.Pointer(pPin), ulPinLen)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	pin, ok := inBytes(unsafe.Pointer(pPin), ulPinLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(pin) // the core keeps no reference; drop our copy
	return rv(mod.Login(p11.SessionHandle(hSession), uint(userType), pin))
}

//export goLoginUser
func goLoginUser(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG, pUsername C.CK_UTF8CHAR_PTR, ulUsernameLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_LoginUser")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.arg("userType", enumName(uint(userType), userTypes))
	t.secret("pPin", unsafe.Pointer(pPin), ulPinLen)
	t.secret("pUsername", unsafe.Pointer(pUsername), ulUsernameLen)
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
	return rv(mod.LoginUser(p11.SessionHandle(hSession), uint(userType), pin, user))
}

//export goLogout
func goLogout(hSession C.CK_SESSION_HANDLE) (r C.CK_RV) {
	t := trace("C_Logout")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	return rv(mod.Logout(p11.SessionHandle(hSession)))
}

//export goInitPIN
func goInitPIN(hSession C.CK_SESSION_HANDLE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_InitPIN")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.secret("pPin", unsafe.Pointer(pPin), ulPinLen)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	pin, ok := inBytes(unsafe.Pointer(pPin), ulPinLen)
	if !ok {
		return rvArgsBad
	}
	defer clear(pin)
	return rv(mod.InitPIN(p11.SessionHandle(hSession), pin))
}

//export goSetPIN
func goSetPIN(hSession C.CK_SESSION_HANDLE, pOldPin C.CK_UTF8CHAR_PTR, ulOldLen C.CK_ULONG, pNewPin C.CK_UTF8CHAR_PTR, ulNewLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_SetPIN")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.secret("pOldPin", unsafe.Pointer(pOldPin), ulOldLen)
	t.secret("pNewPin", unsafe.Pointer(pNewPin), ulNewLen)
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
	return rv(mod.SetPIN(p11.SessionHandle(hSession), oldPIN, newPIN))
}
