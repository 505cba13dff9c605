/*
 * glue.c — the hand-written part of the C ABI: function-list and interface
 * discovery, and the fork guard. Everything here is static C data, so the
 * host never holds a pointer into Go memory.
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "cabi.h"
#include "_cgo_export.h"

/* The function tables must hold exactly their functions, none missing. */
_Static_assert(sizeof(CK_FUNCTION_LIST) ==
		       offsetof(CK_FUNCTION_LIST, C_Initialize) + MYNA_N_FUNCTIONS_2_40 * sizeof(void (*)(void)),
	       "CK_FUNCTION_LIST has 68 function pointers after the version");
_Static_assert(sizeof(CK_FUNCTION_LIST_3_0) ==
		       offsetof(CK_FUNCTION_LIST_3_0, C_Initialize) + MYNA_N_FUNCTIONS_3_0 * sizeof(void (*)(void)),
	       "CK_FUNCTION_LIST_3_0 has 92 function pointers after the version");
_Static_assert(offsetof(CK_FUNCTION_LIST_3_0, C_GetInterfaceList) ==
		       sizeof(CK_FUNCTION_LIST),
	       "CK_FUNCTION_LIST_3_0 starts with the 2.40 list");

/*
 * Fork guard. Go's runtime threads do not exist in a forked child, and a Go
 * call there can hang for ever (golang/go#15538). The child handler marks
 * the process, and every C_* returns CKR_GENERAL_ERROR without entering Go.
 */
volatile int myna_in_forked_child = 0;

static void myna_atfork_child(void)
{
	myna_in_forked_child = 1;
}

__attribute__((constructor)) static void myna_glue_init(void)
{
	pthread_atfork(NULL, NULL, myna_atfork_child);
}

/*
 * Exit guard. A program that exits without C_Finalize (pkcs11-tool after
 * --change-pin does) would leave the card verified for every other
 * program when a token of PIN scope "session" is logged in; as the
 * process exits, Go logs such tokens out (and does nothing otherwise).
 */
__attribute__((destructor)) static void myna_glue_fini(void)
{
	if (!myna_in_forked_child)
		goAtExit();
}

/*
 * Waits until the Go runtime has finished its initialisation (every Go
 * export does), so that a host that forks after getting the function list
 * never forks in the middle of it.
 */
static void myna_wait_for_go(void)
{
	if (!myna_in_forked_child)
		goPing();
}

static CK_CHAR myna_interface_name[] = "PKCS 11";

/* The interfaces, preferred first. Neither is fork-safe. */
static CK_INTERFACE myna_interfaces[] = {
	{myna_interface_name, &myna_function_list_3_0, 0},
	{myna_interface_name, &myna_function_list_2_40, 0},
};
#define MYNA_N_INTERFACES (sizeof(myna_interfaces) / sizeof(myna_interfaces[0]))

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL_PTR)
		return CKR_ARGUMENTS_BAD;
	myna_wait_for_go();
	*ppFunctionList = &myna_function_list_2_40;
	return CKR_OK;
}

CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	if (pulCount == NULL_PTR)
		return CKR_ARGUMENTS_BAD;
	myna_wait_for_go();
	if (pInterfacesList == NULL_PTR) {
		*pulCount = MYNA_N_INTERFACES;
		return CKR_OK;
	}
	if (*pulCount < MYNA_N_INTERFACES) {
		*pulCount = MYNA_N_INTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(pInterfacesList, myna_interfaces, sizeof(myna_interfaces));
	*pulCount = MYNA_N_INTERFACES;
	return CKR_OK;
}

CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
		     CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	size_t i;

	if (ppInterface == NULL_PTR)
		return CKR_ARGUMENTS_BAD;
	myna_wait_for_go();
	for (i = 0; i < MYNA_N_INTERFACES; i++) {
		CK_INTERFACE *it = &myna_interfaces[i];
		/* Both list structures start with their CK_VERSION. */
		const CK_VERSION *v = (const CK_VERSION *)it->pFunctionList;

		if (pInterfaceName != NULL_PTR &&
		    strcmp((const char *)pInterfaceName, (const char *)it->pInterfaceName) != 0)
			continue;
		if (pVersion != NULL_PTR && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		/* Refuse flags this interface lacks (NSS asks for fork-safe first, then falls back). */
		if ((it->flags & flags) != flags)
			continue;
		*ppInterface = it;
		return CKR_OK;
	}
	*ppInterface = NULL_PTR;
	return CKR_ARGUMENTS_BAD;
}
