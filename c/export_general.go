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

//export goInitialize
func goInitialize(pInitArgs C.CK_VOID_PTR) (r C.CK_RV) {
	t := traceInit()
	defer t.end(&r)
	defer guard(&r)
	t.initArgs(pInitArgs)
	syncEnv()
	var a p11.InitArgs
	if pInitArgs != nil {
		p := (*C.CK_C_INITIALIZE_ARGS)(pInitArgs)
		a.Present = true
		a.ReservedNonNil = p.pReserved != nil
		a.OSLockingOK = p.flags&ck.CKF_OS_LOCKING_OK != 0
		a.CantCreateOSThreads = p.flags&ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0
		for _, set := range []bool{p.CreateMutex != nil, p.DestroyMutex != nil, p.LockMutex != nil, p.UnlockMutex != nil} {
			if set {
				a.MutexFuncs++
			}
		}
	}
	return rv(mod.Initialize(a))
}

//export goFinalize
func goFinalize(pReserved C.CK_VOID_PTR) (r C.CK_RV) {
	t := trace("C_Finalize")
	defer t.end(&r)
	defer guard(&r)
	t.ptr("pReserved", unsafe.Pointer(pReserved))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pReserved != nil {
		return rvArgsBad
	}
	return rv(mod.Finalize())
}

//export goGetInfo
func goGetInfo(pInfo C.CK_INFO_PTR) (r C.CK_RV) {
	t := trace("C_GetInfo")
	defer t.end(&r)
	defer guard(&r)
	t.out(func() string {
		return fmt.Sprintf("cryptokiVersion=%d.%d", pInfo.cryptokiVersion.major, pInfo.cryptokiVersion.minor)
	})
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pInfo == nil {
		return rvArgsBad
	}
	info, err := mod.Info()
	if err != nil {
		return rv(err)
	}
	var out C.CK_INFO
	out.cryptokiVersion = version(info.CryptokiVersion)
	pad(out.manufacturerID[:], info.ManufacturerID)
	out.flags = C.CK_FLAGS(info.Flags)
	pad(out.libraryDescription[:], info.LibraryDescription)
	out.libraryVersion = version(info.LibraryVersion)
	*pInfo = out
	return rvOK
}
