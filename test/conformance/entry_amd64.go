package conformance

/*
#cgo CFLAGS: -I${SRCDIR}/../../c
#include <string.h>
#include "pkcs11t.h"
#include "pkcs11f_gen.h"

// conf_entry calls entry i of the 3.0 function list with first argument a0
// and seven zero arguments, through one generic pointer type. On x86-64
// System V every PKCS#11 argument is INTEGER class (pointers, CK_ULONG,
// CK_BBOOL) and a callee ignores extra arguments, so this is a
// well-defined call at the ABI level even though ISO C calls it undefined;
// the file builds on amd64 only.
typedef CK_RV (*generic_fn)(CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG);

static CK_RV conf_entry(void *list, int i, CK_ULONG a0)
{
	generic_fn fns[MYNA_N_FUNCTIONS_3_0];
	memcpy(fns, &((CK_FUNCTION_LIST_3_0 *)list)->C_Initialize, sizeof fns);
	return fns[i](a0, 0, 0, 0, 0, 0, 0, 0);
}
*/
import "C"

// Entries is the number of entries of the 3.0 function list.
const Entries = C.MYNA_N_FUNCTIONS_3_0

// Entry calls entry i (0 = C_Initialize) of the 3.0 function list with
// first argument a0 and every other argument zero (NULL pointers, zero
// lengths) and returns its CK_RV.
func Entry(i int, a0 uint) uint {
	return uint(C.conf_entry(loaded.FunctionList, C.int(i), C.CK_ULONG(a0)))
}
