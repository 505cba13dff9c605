// Package p11load is the tests' one loader of libmyna-pkcs11.so: p11load.h
// for the C harnesses (test/cabi, test/hostile), and Open for the Go suites
// that call through raw C (test/abi, test/conformance): it dlopens the
// module and finds its entry points; each suite's cgo file binds these
// pointers to its own call wrappers.
package p11load

/*
#cgo CFLAGS: -I${SRCDIR} -I${SRCDIR}/../../../c
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "p11load.h"

// load dlopens path and fills out: the 3.0 function list, then
// C_GetFunctionList, C_GetInterface and C_GetInterfaceList.
static const char *load(const char *path, void **out)
{
	CK_VERSION v = {3, 0};
	void *h = p11load_open(path);
	if (h == NULL)
		return dlerror();
	out[1] = dlsym(h, "C_GetFunctionList");
	out[2] = dlsym(h, "C_GetInterface");
	out[3] = dlsym(h, "C_GetInterfaceList");
	if (out[1] == NULL || out[2] == NULL || out[3] == NULL)
		return "C_GetFunctionList, C_GetInterface or C_GetInterfaceList not exported";
	if ((out[0] = p11load_interface(h, "PKCS 11", &v)) == NULL)
		return "C_GetInterface(\"PKCS 11\", 3.0) failed";
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
