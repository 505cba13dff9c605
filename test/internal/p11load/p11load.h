/*
 * p11load.h — the tests' one loader of libmyna-pkcs11.so from C: used by
 * p11load.go (the Go suites), test/cabi/testdata/harness.c and
 * test/hostile/testdata/hostile.c (compiled with -I test/internal/p11load
 * and -I c). Each function returns NULL on failure; after a failed
 * p11load_open, dlerror() says why.
 */
#ifndef P11LOAD_H
#define P11LOAD_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

#include "pkcs11t.h"
#include "pkcs11f_gen.h"

typedef CK_RV (*p11load_get_function_list_fn)(CK_FUNCTION_LIST_PTR_PTR);
typedef CK_RV (*p11load_get_interface_fn)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);

/* p11load_open dlopens the module at path (RTLD_NOW | RTLD_LOCAL). */
static inline void *p11load_open(const char *path)
{
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/*
 * p11load_open_or_print is p11load_open that prints "dlopen_error WHY" on
 * standard output when it fails (the C harnesses' "key value" output).
 */
static inline void *p11load_open_or_print(const char *path)
{
	void *h = p11load_open(path);
	if (h == NULL)
		printf("dlopen_error %s\n", dlerror());
	return h;
}

/* p11load_function_list returns the 2.40 list from C_GetFunctionList. */
static inline CK_FUNCTION_LIST_PTR p11load_function_list(void *h)
{
	p11load_get_function_list_fn gfl = (p11load_get_function_list_fn)dlsym(h, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR fl = NULL;
	if (gfl == NULL || gfl(&fl) != CKR_OK)
		return NULL;
	return fl;
}

/*
 * p11load_interface returns the function list C_GetInterface(name,
 * version, flags 0) gives (name and version may be NULL).
 */
static inline CK_FUNCTION_LIST_3_0_PTR p11load_interface(void *h, const char *name, CK_VERSION *version)
{
	p11load_get_interface_fn gi = (p11load_get_interface_fn)dlsym(h, "C_GetInterface");
	CK_INTERFACE_PTR it = NULL;
	if (gi == NULL || gi((CK_UTF8CHAR_PTR)name, version, &it, 0) != CKR_OK || it == NULL)
		return NULL;
	return (CK_FUNCTION_LIST_3_0_PTR)it->pFunctionList;
}

#endif
