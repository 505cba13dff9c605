// Package p11load is the tests' one loader of libmyna-pkcs11.so into the
// test process: it dlopens the module and finds the entry points the Go
// suites call through raw C (test/abi, test/conformance). Each suite's
// cgo file binds these pointers to its own call wrappers.
package p11load

/*
#cgo CFLAGS: -I${SRCDIR}/../../../c
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "pkcs11t.h"
#include "pkcs11f_gen.h"

typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);

// load dlopens path and fills out: the 3.0 function list, then
// C_GetFunctionList, C_GetInterface and C_GetInterfaceList.
static const char *load(const char *path, void **out)
{
	CK_VERSION v = {3, 0};
	CK_INTERFACE_PTR it = NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return dlerror();
	out[1] = dlsym(h, "C_GetFunctionList");
	out[2] = dlsym(h, "C_GetInterface");
	out[3] = dlsym(h, "C_GetInterfaceList");
	if (out[1] == NULL || out[2] == NULL || out[3] == NULL)
		return "C_GetFunctionList, C_GetInterface or C_GetInterfaceList not exported";
	if (((get_interface_fn)out[2])((CK_UTF8CHAR_PTR)"PKCS 11", &v, &it, 0) != CKR_OK || it == NULL)
		return "C_GetInterface(\"PKCS 11\", 3.0) failed";
	out[0] = it->pFunctionList;
	return NULL;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Module is a loaded module's entry points, as C pointers: the
// CK_FUNCTION_LIST_3_0 and the three functions outside it.
type Module struct {
	FunctionList, GetFunctionList, GetInterface, GetInterfaceList unsafe.Pointer
}

// Open dlopens the module at path (RTLD_LOCAL; the same instance
// miekg/pkcs11 loads from the same path) and finds its entry points.
func Open(path string) (Module, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	out := (*[4]unsafe.Pointer)(C.calloc(4, C.size_t(unsafe.Sizeof(unsafe.Pointer(nil)))))
	defer C.free(unsafe.Pointer(out))
	if msg := C.load(cpath, &out[0]); msg != nil {
		return Module{}, errors.New("p11load: " + C.GoString(msg))
	}
	return Module{out[0], out[1], out[2], out[3]}, nil
}
