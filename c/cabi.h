/*
 * cabi.h — everything the C layer and the Go exports share: the PKCS#11
 * types and functions, the two static function tables and the fork flag.
 * Declarations only: this file is the preamble of the Go files with
 * //export, which cgo compiles more than once.
 */
#ifndef MYNA_CABI_H
#define MYNA_CABI_H

#include "pkcs11t.h"
#include "pkcs11f_gen.h"

/* The static function tables (glue_gen.c). */
extern CK_FUNCTION_LIST myna_function_list_2_40;
extern CK_FUNCTION_LIST_3_0 myna_function_list_3_0;

/* Set in a child process after fork (glue.c); every C_* then fails fast. */
extern volatile int myna_in_forked_child;

#endif /* MYNA_CABI_H */
