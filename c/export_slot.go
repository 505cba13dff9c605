package main

/*
#include "cabi.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

//export goGetSlotList
func goGetSlotList(tokenPresent C.CK_BBOOL, pSlotList C.CK_SLOT_ID_PTR, pulCount C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_GetSlotList")
	defer t.end(&r)
	defer guard(&r)
	t.arg("tokenPresent", fmtBool(tokenPresent))
	outList(t, "pSlotList", pSlotList, pulCount, fmtUint)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pulCount == nil {
		return rvArgsBad
	}
	slots, err := mod.SlotList(tokenPresent != C.CK_FALSE)
	if err != nil {
		return rv(err)
	}
	return writeULongs(pSlotList, pulCount, slots)
}

//export goGetSlotInfo
func goGetSlotInfo(slotID C.CK_SLOT_ID, pInfo C.CK_SLOT_INFO_PTR) (r C.CK_RV) {
	t := trace("C_GetSlotInfo")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	t.out(func() string {
		return "slotDescription=" + trimField(pInfo.slotDescription[:]) + ", flags=" + fmtFlags(uint(pInfo.flags), slotFlags)
	})
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pInfo == nil {
		return rvArgsBad
	}
	info, err := mod.SlotInfo(p11.SlotID(slotID))
	if err != nil {
		return rv(err)
	}
	var out C.CK_SLOT_INFO
	pad(out.slotDescription[:], info.Description)
	pad(out.manufacturerID[:], info.ManufacturerID)
	out.flags = C.CK_FLAGS(info.Flags)
	out.hardwareVersion = version(info.HardwareVersion)
	out.firmwareVersion = version(info.FirmwareVersion)
	*pInfo = out
	return rvOK
}

//export goGetTokenInfo
func goGetTokenInfo(slotID C.CK_SLOT_ID, pInfo C.CK_TOKEN_INFO_PTR) (r C.CK_RV) {
	t := trace("C_GetTokenInfo")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	t.out(func() string {
		return "label=" + trimField(pInfo.label[:]) + ", flags=" + fmtFlags(uint(pInfo.flags), tokenFlags)
	})
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pInfo == nil {
		return rvArgsBad
	}
	info, err := mod.TokenInfo(p11.SlotID(slotID))
	if err != nil {
		return rv(err)
	}
	var out C.CK_TOKEN_INFO
	pad(out.label[:], info.Label)
	pad(out.manufacturerID[:], info.ManufacturerID)
	pad(out.model[:], info.Model)
	pad(out.serialNumber[:], info.SerialNumber)
	out.flags = C.CK_FLAGS(info.Flags)
	out.ulMaxSessionCount = C.CK_ULONG(info.MaxSessionCount)
	out.ulSessionCount = C.CK_ULONG(info.SessionCount)
	out.ulMaxRwSessionCount = C.CK_ULONG(info.MaxRwSessionCount)
	out.ulRwSessionCount = C.CK_ULONG(info.RwSessionCount)
	out.ulMaxPinLen = C.CK_ULONG(info.MaxPinLen)
	out.ulMinPinLen = C.CK_ULONG(info.MinPinLen)
	out.ulTotalPublicMemory = C.CK_ULONG(info.TotalPublicMemory)
	out.ulFreePublicMemory = C.CK_ULONG(info.FreePublicMemory)
	out.ulTotalPrivateMemory = C.CK_ULONG(info.TotalPrivateMemory)
	out.ulFreePrivateMemory = C.CK_ULONG(info.FreePrivateMemory)
	out.hardwareVersion = version(info.HardwareVersion)
	out.firmwareVersion = version(info.FirmwareVersion)
	pad(out.utcTime[:], info.UTCTime)
	*pInfo = out
	return rvOK
}

//export goWaitForSlotEvent
func goWaitForSlotEvent(flags C.CK_FLAGS, pSlot C.CK_SLOT_ID_PTR, pReserved C.CK_VOID_PTR) (r C.CK_RV) {
	t := trace("C_WaitForSlotEvent")
	defer t.end(&r)
	defer guard(&r)
	t.flags("flags", uint(flags), waitFlags)
	t.ptr("pReserved", unsafe.Pointer(pReserved))
	outNum(t, "pSlot", pSlot, false)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pSlot == nil || pReserved != nil {
		return rvArgsBad
	}
	slot, err := mod.WaitForSlotEvent(flags&ck.CKF_DONT_BLOCK != 0)
	if err != nil {
		return rv(err)
	}
	*pSlot = C.CK_SLOT_ID(slot)
	return rvOK
}

//export goGetMechanismList
func goGetMechanismList(slotID C.CK_SLOT_ID, pMechanismList C.CK_MECHANISM_TYPE_PTR, pulCount C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_GetMechanismList")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	outList(t, "pMechanismList", pMechanismList, pulCount, ck.MechName)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pulCount == nil {
		return rvArgsBad
	}
	mechs, err := mod.MechanismList(p11.SlotID(slotID))
	if err != nil {
		return rv(err)
	}
	return writeULongs(pMechanismList, pulCount, mechs)
}

//export goGetMechanismInfo
func goGetMechanismInfo(slotID C.CK_SLOT_ID, typ C.CK_MECHANISM_TYPE, pInfo C.CK_MECHANISM_INFO_PTR) (r C.CK_RV) {
	t := trace("C_GetMechanismInfo")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	t.arg("type", ck.MechName(uint(typ)))
	t.out(func() string {
		return fmt.Sprintf("ulMinKeySize=%d, ulMaxKeySize=%d, flags=%s", pInfo.ulMinKeySize, pInfo.ulMaxKeySize, fmtFlags(uint(pInfo.flags), mechFlags))
	})
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pInfo == nil {
		return rvArgsBad
	}
	info, err := mod.MechanismInfo(p11.SlotID(slotID), p11.MechanismType(typ))
	if err != nil {
		return rv(err)
	}
	*pInfo = C.CK_MECHANISM_INFO{
		ulMinKeySize: C.CK_ULONG(info.MinKeySize),
		ulMaxKeySize: C.CK_ULONG(info.MaxKeySize),
		flags:        C.CK_FLAGS(info.Flags),
	}
	return rvOK
}

// labelLen is the fixed width of C_InitToken's pLabel.
const labelLen = 32

//export goInitToken
func goInitToken(slotID C.CK_SLOT_ID, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG, pLabel C.CK_UTF8CHAR_PTR) (r C.CK_RV) {
	t := trace("C_InitToken")
	defer t.end(&r)
	defer guard(&r)
	t.num("slotID", uint(slotID))
	t.secret("pPin", unsafe.Pointer(pPin), ulPinLen)
	t.ptr("pLabel", unsafe.Pointer(pLabel))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	pin, ok := inBytes(unsafe.Pointer(pPin), ulPinLen)
	if !ok || pLabel == nil {
		return rvArgsBad
	}
	defer clear(pin)
	label := C.GoBytes(unsafe.Pointer(pLabel), labelLen)
	return rv(mod.InitToken(p11.SlotID(slotID), pin, label))
}
