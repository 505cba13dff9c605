/*
 * hostile.c — a hostile PKCS#11 caller for libmyna-pkcs11.so, from plain C.
 * Built and run by ../hostile_test.go (`go test ./test/hostile`), plain, with
 * -fsanitize=address,undefined, and under valgrind.
 *
 *   hostile LIB calls          calls before C_Initialize, after C_Finalize,
 *                              twice; zero and short lengths, invalid/closed
 *                              handles swept over every session function, bad
 *                              templates, bad mechanisms, malformed PINs, calls
 *                              out of order. Exact CKR_ codes are asserted
 *                              here. (NULL pointers and calls before
 *                              C_Initialize are test/conformance's.)
 *   hostile LIB fork           sign, then fork while another thread signs: the
 *                              child must get errors within a second; the parent
 *                              signs again.
 *   hostile LIB stress T S N   T signing threads for at most S seconds and N
 *                              signatures in all, plus C_WaitForSlotEvent
 *                              threads, a slot/token poller, and C_Finalize
 *                              at the end while they still run.
 *   hostile LIB forkafteruse   initialise, use, fork: the child must get
 *                              CKR_GENERAL_ERROR fast; the parent keeps working
 *   hostile LIB forkearly      fork right after C_GetFunctionList, before any
 *                              other call: the child must fail fast too
 *   hostile LIB threads N      N C threads with 64 KiB stacks calling in
 *
 * Output: "key value" lines; "bad ..." for each failed expectation;
 * "sig auth|sign MSGHEX SIGHEX" for each signature (the Go test verifies them
 * with the card's public keys); finally "RESULT ok" or "RESULT fail <why>".
 * The exit status is 0 only with RESULT ok. A watchdog (alarm) turns a hang
 * into "RESULT fail watchdog" and exit status 3.
 *
 * The bad-handle sweep calls every session function of the 3.0 function
 * table through one generic pointer type with eight integer arguments. On
 * x86-64 System V every PKCS#11 argument is INTEGER class (pointers, CK_ULONG,
 * CK_BBOOL) and a callee ignores extra arguments, so this is a well-defined
 * call at the ABI level even though ISO C calls it undefined; the harness
 * refuses to build elsewhere.
 */
#if !defined(__x86_64__) || !defined(__linux__)
#error "the generic sweep needs the x86-64 System V calling convention"
#endif

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "p11load.h"

/* Constants the project's header does not carry (values from the spec). */
#define R_SLOT_ID_INVALID 0x03UL
#define R_NO_EVENT 0x08UL
#define R_ATTRIBUTE_SENSITIVE 0x11UL
#define R_ATTRIBUTE_TYPE_INVALID 0x12UL
#define R_ATTRIBUTE_VALUE_INVALID 0x13UL
#define R_ACTION_PROHIBITED 0x1BUL
#define R_DATA_LEN_RANGE 0x21UL
#define R_KEY_HANDLE_INVALID 0x60UL
#define R_KEY_TYPE_INCONSISTENT 0x63UL
#define R_KEY_FUNCTION_NOT_PERMITTED 0x68UL
#define R_MECHANISM_INVALID 0x70UL
#define R_MECHANISM_PARAM_INVALID 0x71UL
#define R_OBJECT_HANDLE_INVALID 0x82UL
#define R_OPERATION_ACTIVE 0x90UL
#define R_OPERATION_NOT_INITIALIZED 0x91UL
#define R_PIN_INCORRECT 0xA0UL
#define R_PIN_INVALID 0xA1UL
#define R_PIN_LEN_RANGE 0xA2UL
#define R_SESSION_HANDLE_INVALID 0xB3UL
#define R_SESSION_PARALLEL_NOT_SUPPORTED 0xB4UL
#define R_SESSION_READ_ONLY 0xB5UL
#define R_SIGNATURE_INVALID 0xC0UL
#define R_SIGNATURE_LEN_RANGE 0xC1UL
#define R_TEMPLATE_INCONSISTENT 0xD1UL
#define R_TOKEN_WRITE_PROTECTED 0xE2UL
#define R_USER_ALREADY_LOGGED_IN 0x100UL
#define R_USER_NOT_LOGGED_IN 0x101UL
#define R_USER_TYPE_INVALID 0x103UL
#define R_RANDOM_NO_RNG 0x121UL

#define A_CLASS 0x00UL
#define A_TOKEN 0x01UL
#define A_PRIVATE 0x02UL
#define A_LABEL 0x03UL
#define A_VALUE 0x11UL
#define A_ID 0x102UL
#define A_SIGN 0x108UL
#define A_MODULUS 0x120UL
#define O_CERTIFICATE 0x01UL
#define O_PRIVATE_KEY 0x03UL
#define M_RSA_PKCS 0x01UL
#define M_RSA_PKCS_PSS 0x0DUL
#define M_SHA256_RSA_PKCS 0x40UL
#define M_SHA256_RSA_PKCS_PSS 0x43UL
#define M_SHA256 0x250UL
#define M_AES_CBC 0x1082UL
#define M_ECDSA 0x1041UL
#define U_SO 0UL
#define U_USER 1UL

static CK_FUNCTION_LIST_3_0_PTR F;
static int n_checks, n_bad;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void out(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&out_mu);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
}

static int fail(const char *why)
{
	out("RESULT fail %s\n", why);
	return 1;
}

/* expect records one assertion of an exact return value. */
static void expect(int line, const char *what, CK_RV got, CK_RV want)
{
	__atomic_add_fetch(&n_checks, 1, __ATOMIC_SEQ_CST);
	if (got != want) {
		__atomic_add_fetch(&n_bad, 1, __ATOMIC_SEQ_CST);
		out("bad line %d: %s = 0x%lx, want 0x%lx\n", line, what, got, want);
	}
}
#define EXPECT(want, call) expect(__LINE__, #call, (call), (want))

/* check records a condition. */
static void check(int line, const char *what, int ok)
{
	__atomic_add_fetch(&n_checks, 1, __ATOMIC_SEQ_CST);
	if (!ok) {
		__atomic_add_fetch(&n_bad, 1, __ATOMIC_SEQ_CST);
		out("bad line %d: %s\n", line, what);
	}
}
#define CHECK(cond) check(__LINE__, #cond, (cond))

static void watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "RESULT fail watchdog\n";
	if (write(1, msg, sizeof msg - 1) < 0) {
	}
	_exit(3);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const names[92] = {
	"C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList", "C_GetSlotList", "C_GetSlotInfo",
	"C_GetTokenInfo", "C_GetMechanismList", "C_GetMechanismInfo", "C_InitToken", "C_InitPIN", "C_SetPIN",
	"C_OpenSession", "C_CloseSession", "C_CloseAllSessions", "C_GetSessionInfo", "C_GetOperationState",
	"C_SetOperationState", "C_Login", "C_Logout", "C_CreateObject", "C_CopyObject", "C_DestroyObject",
	"C_GetObjectSize", "C_GetAttributeValue", "C_SetAttributeValue", "C_FindObjectsInit", "C_FindObjects",
	"C_FindObjectsFinal", "C_EncryptInit", "C_Encrypt", "C_EncryptUpdate", "C_EncryptFinal", "C_DecryptInit",
	"C_Decrypt", "C_DecryptUpdate", "C_DecryptFinal", "C_DigestInit", "C_Digest", "C_DigestUpdate",
	"C_DigestKey", "C_DigestFinal", "C_SignInit", "C_Sign", "C_SignUpdate", "C_SignFinal", "C_SignRecoverInit",
	"C_SignRecover", "C_VerifyInit", "C_Verify", "C_VerifyUpdate", "C_VerifyFinal", "C_VerifyRecoverInit",
	"C_VerifyRecover", "C_DigestEncryptUpdate", "C_DecryptDigestUpdate", "C_SignEncryptUpdate",
	"C_DecryptVerifyUpdate", "C_GenerateKey", "C_GenerateKeyPair", "C_WrapKey", "C_UnwrapKey", "C_DeriveKey",
	"C_SeedRandom", "C_GenerateRandom", "C_GetFunctionStatus", "C_CancelFunction", "C_WaitForSlotEvent",
	"C_GetInterfaceList", "C_GetInterface", "C_LoginUser", "C_SessionCancel", "C_MessageEncryptInit",
	"C_EncryptMessage", "C_EncryptMessageBegin", "C_EncryptMessageNext", "C_MessageEncryptFinal",
	"C_MessageDecryptInit", "C_DecryptMessage", "C_DecryptMessageBegin", "C_DecryptMessageNext",
	"C_MessageDecryptFinal", "C_MessageSignInit", "C_SignMessage", "C_SignMessageBegin", "C_SignMessageNext",
	"C_MessageSignFinal", "C_MessageVerifyInit", "C_VerifyMessage", "C_VerifyMessageBegin",
	"C_VerifyMessageNext", "C_MessageVerifyFinal",
};

typedef CK_RV (*generic_fn)(CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG);

static generic_fn entry(int i)
{
	generic_fn fns[92];
	memcpy(fns, &F->C_Initialize, sizeof fns);
	return fns[i];
}

/* What the first argument of a function is, for the sweeps. */
enum first { FIRST_NONE, FIRST_SLOT, FIRST_SESSION, FIRST_FLAGS };

static enum first first_arg(const char *n)
{
	static const char *const slot_fns[] = {"C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList",
		"C_GetMechanismInfo", "C_InitToken", "C_OpenSession", "C_CloseAllSessions", NULL};
	static const char *const none_fns[] = {"C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList",
		"C_GetSlotList", "C_GetInterfaceList", "C_GetInterface", NULL};
	for (int i = 0; slot_fns[i]; i++)
		if (strcmp(n, slot_fns[i]) == 0)
			return FIRST_SLOT;
	for (int i = 0; none_fns[i]; i++)
		if (strcmp(n, none_fns[i]) == 0)
			return FIRST_NONE;
	if (strcmp(n, "C_WaitForSlotEvent") == 0)
		return FIRST_FLAGS;
	return FIRST_SESSION;
}

/* Functions the module does not implement: CKR_FUNCTION_NOT_SUPPORTED always. */
static int unsupported(const char *n)
{
	static const char *const list[] = {"C_GetOperationState", "C_SetOperationState", "C_EncryptInit",
		"C_Encrypt", "C_EncryptUpdate", "C_EncryptFinal", "C_DecryptInit", "C_Decrypt", "C_DecryptUpdate",
		"C_DecryptFinal", "C_DigestKey", "C_SignRecoverInit", "C_SignRecover", "C_VerifyRecoverInit",
		"C_VerifyRecover", "C_DigestEncryptUpdate", "C_DecryptDigestUpdate", "C_SignEncryptUpdate",
		"C_DecryptVerifyUpdate", "C_GenerateKey", "C_GenerateKeyPair", "C_WrapKey", "C_UnwrapKey",
		"C_DeriveKey", NULL};
	for (int i = 0; list[i]; i++)
		if (strcmp(n, list[i]) == 0)
			return 1;
	return strncmp(n, "C_Message", 9) == 0 || strstr(n, "Message") != NULL;
}

static CK_SLOT_ID auth_slot, sign_slot;

/* find_slots sets auth_slot and sign_slot from the token labels. */
static int find_slots(void)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	int found = 0;
	if (F->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n < 2)
		return 0;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (F->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (memmem(ti.label, sizeof ti.label, "(Auth)", 6)) {
			auth_slot = slots[i];
			found |= 1;
		} else if (memmem(ti.label, sizeof ti.label, "(Sign)", 6)) {
			sign_slot = slots[i];
			found |= 2;
		}
	}
	return found == 3;
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE t[] = {{A_CLASS, &cls, sizeof cls}};
	CK_OBJECT_HANDLE h = 0;
	CK_ULONG n = 0;
	if (F->C_FindObjectsInit(s, t, 1) != CKR_OK)
		return 0;
	if (F->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
		h = 0;
	F->C_FindObjectsFinal(s);
	return h;
}

static void print_sig(const char *tok, const CK_BYTE *msg, CK_ULONG mlen, const CK_BYTE *sig, CK_ULONG slen)
{
	char buf[2 * 512 + 2 * 64 + 32];
	size_t o = (size_t)snprintf(buf, sizeof buf, "sig %s ", tok);
	for (CK_ULONG i = 0; i < mlen && o + 3 < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%02x", msg[i]);
	o += (size_t)snprintf(buf + o, sizeof buf - o, " ");
	for (CK_ULONG i = 0; i < slen && o + 3 < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%02x", sig[i]);
	out("%s\n", buf);
}

/* sign_once signs msg with the private key on session s (logged in); prints the signature. */
static CK_RV sign_once(CK_SESSION_HANDLE s, const char *tok, const CK_BYTE *msg, CK_ULONG mlen)
{
	CK_OBJECT_HANDLE key = find_one(s, O_PRIVATE_KEY);
	CK_MECHANISM m = {M_SHA256_RSA_PKCS, NULL, 0};
	CK_BYTE sig[512];
	CK_ULONG slen = sizeof sig;
	if (key == 0)
		return R_KEY_HANDLE_INVALID;
	CK_RV rv = F->C_SignInit(s, &m, key);
	if (rv != CKR_OK)
		return rv;
	rv = F->C_Sign(s, (CK_BYTE_PTR)msg, mlen, sig, &slen);
	if (rv == CKR_OK)
		print_sig(tok, msg, mlen, sig, slen);
	return rv;
}

static int load(const char *lib)
{
	void *h = p11load_open_or_print(lib);
	if (h == NULL)
		return 0;
	F = p11load_interface(h, NULL, NULL);
	return F != NULL && F->version.major == 3;
}

/* ---------------------------------------------------------------- calls */

static const CK_BYTE auth_pin[] = "1234";
static const CK_BYTE sign_pin[] = "ABC123";

/* Invalid handles: every session function with a never-issued and a closed handle. */
static void bad_handle_sweep(CK_SESSION_HANDLE closed)
{
	CK_SESSION_HANDLE bad[] = {0, closed, 0xFFFFFFFFUL, ~0UL};
	for (int b = 0; b < 4; b++)
		for (int i = 0; i < 92; i++) {
			const char *n = names[i];
			if (first_arg(n) != FIRST_SESSION || unsupported(n) || !strcmp(n, "C_GetFunctionStatus") ||
			    !strcmp(n, "C_CancelFunction"))
				continue;
			CK_BYTE buf[600];
			CK_ULONG len = sizeof buf;
			CK_MECHANISM m = {M_SHA256_RSA_PKCS, NULL, 0};
			CK_ULONG a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0;
			/* Give non-NULL pointers so only the handle is wrong. */
			if (strstr(n, "Init") && strcmp(n, "C_InitPIN") != 0) {
				a1 = (CK_ULONG)&m;
				a2 = 1;
			} else if (!strcmp(n, "C_Sign") || !strcmp(n, "C_Digest") || !strcmp(n, "C_Verify")) {
				a1 = (CK_ULONG)buf;
				a2 = 4;
				a3 = (CK_ULONG)buf;
				a4 = !strcmp(n, "C_Verify") ? 256 : (CK_ULONG)&len;
			} else if (!strcmp(n, "C_SignFinal") || !strcmp(n, "C_DigestFinal")) {
				a1 = (CK_ULONG)buf;
				a2 = (CK_ULONG)&len;
			} else if (!strcmp(n, "C_GetSessionInfo")) {
				a1 = (CK_ULONG)buf;
			} else if (!strcmp(n, "C_Login")) {
				a1 = U_USER;
				a2 = (CK_ULONG)auth_pin;
				a3 = 4;
			} else if (!strcmp(n, "C_FindObjects")) {
				a1 = (CK_ULONG)buf;
				a2 = 1;
				a3 = (CK_ULONG)&len;
			} else if (!strcmp(n, "C_GetAttributeValue")) {
				static CK_ULONG v;
				static CK_ATTRIBUTE t = {A_CLASS, &v, sizeof v};
				a1 = 1;
				a2 = (CK_ULONG)&t;
				a3 = 1;
			} else if (!strcmp(n, "C_CreateObject") || !strcmp(n, "C_CopyObject")) {
				static CK_ULONG v = O_CERTIFICATE;
				static CK_ATTRIBUTE t = {A_CLASS, &v, sizeof v};
				int copy = !strcmp(n, "C_CopyObject");
				a1 = copy ? 1 : (CK_ULONG)&t;
				a2 = copy ? (CK_ULONG)&t : 1;
				a3 = copy ? 1 : (CK_ULONG)&len;
				a4 = copy ? (CK_ULONG)&len : 0;
			} else if (!strcmp(n, "C_GetObjectSize")) {
				a1 = 1;
				a2 = (CK_ULONG)&len;
			}
			(void)a5;
			CK_RV rv = entry(i)(bad[b], a1, a2, a3, a4, 0, 0, 0);
			char what[96];
			snprintf(what, sizeof what, "%s(bad session #%d)", n, b);
			expect(__LINE__, what, rv, R_SESSION_HANDLE_INVALID);
		}
}

static int mode_calls(void)
{
	CK_INFO info;
	CK_SESSION_HANDLE s, s2, rw;
	CK_SLOT_ID slots[8];
	CK_ULONG n;

	/* 1. before C_Initialize (every function swept: test/conformance) */
	{
		CK_INTERFACE_PTR ip = NULL;
		CK_VERSION v99 = {9, 9};
		EXPECT(CKR_ARGUMENTS_BAD, F->C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v99, &ip, 0));
		EXPECT(CKR_ARGUMENTS_BAD, F->C_GetInterface((CK_UTF8CHAR_PTR) "Vendor X", NULL, &ip, 0));
		CK_INTERFACE list[1];
		n = 1;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_GetInterfaceList(list, &n));
		CHECK(n == 2);
		n = 0;
		EXPECT(CKR_OK, F->C_GetInterfaceList(NULL, &n));
		CHECK(n == 2);
	}

	/* 2. C_Initialize argument checks */
	{
		CK_C_INITIALIZE_ARGS a;
		memset(&a, 0, sizeof a);
		a.pReserved = (CK_VOID_PTR)&a;
		EXPECT(CKR_ARGUMENTS_BAD, F->C_Initialize(&a));
		memset(&a, 0, sizeof a);
		a.CreateMutex = (CK_CREATEMUTEX)1; /* only some callbacks: inconsistent */
		EXPECT(CKR_ARGUMENTS_BAD, F->C_Initialize(&a));
	}
	EXPECT(CKR_OK, F->C_Initialize(NULL));
	EXPECT(CKR_CRYPTOKI_ALREADY_INITIALIZED, F->C_Initialize(NULL));
	EXPECT(CKR_ARGUMENTS_BAD, F->C_Finalize((CK_VOID_PTR)&n));
	if (!find_slots())
		return fail("two tokens not found");

	/* 3. slot functions: bad slot IDs, short buffers */
	EXPECT(CKR_OK, F->C_GetInfo(&info));
	n = 0;
	EXPECT(CKR_OK, F->C_GetSlotList(CK_FALSE, NULL, &n));
	CHECK(n >= 2);
	{
		CK_ULONG need = n;
		n = 1;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_GetSlotList(CK_FALSE, slots, &n));
		CHECK(n == need);
		EXPECT(CKR_OK, F->C_GetSlotList(CK_FALSE, slots, &n));
		CHECK(n == need);
	}
	{
		CK_SLOT_INFO si;
		CK_TOKEN_INFO ti;
		CK_MECHANISM_INFO mi;
		CK_MECHANISM_TYPE mechs[32];
		CK_SLOT_ID badslots[] = {0xDEAD, ~0UL, 0x7FFFFFFF};
		for (int b = 0; b < 3; b++) {
			EXPECT(R_SLOT_ID_INVALID, F->C_GetSlotInfo(badslots[b], &si));
			EXPECT(R_SLOT_ID_INVALID, F->C_GetTokenInfo(badslots[b], &ti));
			n = 32;
			EXPECT(R_SLOT_ID_INVALID, F->C_GetMechanismList(badslots[b], mechs, &n));
			EXPECT(R_SLOT_ID_INVALID, F->C_GetMechanismInfo(badslots[b], M_RSA_PKCS, &mi));
			EXPECT(R_SLOT_ID_INVALID, F->C_OpenSession(badslots[b], CKF_SERIAL_SESSION, NULL, NULL, &s));
			EXPECT(R_SLOT_ID_INVALID, F->C_CloseAllSessions(badslots[b]));
			EXPECT(R_SLOT_ID_INVALID,
			       F->C_InitToken(badslots[b], (CK_UTF8CHAR_PTR) "1234", 4, (CK_UTF8CHAR_PTR) "label"));
		}
		n = 0;
		EXPECT(CKR_OK, F->C_GetMechanismList(auth_slot, NULL, &n));
		CK_ULONG need = n;
		CHECK(need > 1 && need <= 32);
		n = 1;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_GetMechanismList(auth_slot, mechs, &n));
		CHECK(n == need);
		n = 32;
		EXPECT(CKR_OK, F->C_GetMechanismList(auth_slot, mechs, &n));
		EXPECT(R_MECHANISM_INVALID, F->C_GetMechanismInfo(auth_slot, M_AES_CBC, &mi));
		EXPECT(R_MECHANISM_INVALID, F->C_GetMechanismInfo(auth_slot, ~0UL, &mi));
	}

	/* 4. sessions */
	EXPECT(R_SESSION_PARALLEL_NOT_SUPPORTED, F->C_OpenSession(auth_slot, 0, NULL, NULL, &s));
	EXPECT(CKR_OK, F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
	EXPECT(CKR_OK, F->C_OpenSession(sign_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw));
	EXPECT(CKR_OK, F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &s2));
	EXPECT(CKR_OK, F->C_CloseSession(s2));
	EXPECT(R_SESSION_HANDLE_INVALID, F->C_CloseSession(s2));
	bad_handle_sweep(s2);

	/* 5. login: bad user types, malformed PINs (CKR_PIN_INCORRECT, as C_Login lists;
	 * they never reach the card), NULL */
	EXPECT(R_USER_TYPE_INVALID, F->C_Login(s, 7, (CK_UTF8CHAR_PTR)auth_pin, 4));
	EXPECT(R_USER_TYPE_INVALID, F->C_Login(s, ~0UL, (CK_UTF8CHAR_PTR)auth_pin, 4));
	EXPECT(R_PIN_INCORRECT, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR) "123", 3));
	EXPECT(R_PIN_INCORRECT, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR) "12345", 5));
	EXPECT(R_PIN_INCORRECT, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR) "", 0));
	EXPECT(R_PIN_INCORRECT, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR) "12a4", 4));
	EXPECT(R_PIN_INCORRECT, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR) "12\0004", 4));
	EXPECT(R_PIN_INCORRECT, F->C_Login(rw, U_USER, (CK_UTF8CHAR_PTR) "ABC12", 5));
	EXPECT(R_PIN_INCORRECT, F->C_Login(rw, U_USER, (CK_UTF8CHAR_PTR) "ABCDEFGHIJ1234567", 17));
	EXPECT(R_PIN_INCORRECT, F->C_Login(rw, U_USER, (CK_UTF8CHAR_PTR) "ABC-123", 7));
	EXPECT(R_PIN_INCORRECT, F->C_Login(rw, U_USER, (CK_UTF8CHAR_PTR) "ABC\xe3\x81\x82", 6));
	EXPECT(R_USER_NOT_LOGGED_IN, F->C_Logout(s));
	EXPECT(R_USER_TYPE_INVALID, F->C_LoginUser(s, 7, (CK_UTF8CHAR_PTR)auth_pin, 4, (CK_UTF8CHAR_PTR) "u", 1));
	EXPECT(R_PIN_LEN_RANGE, F->C_SetPIN(rw, (CK_UTF8CHAR_PTR)sign_pin, 6, (CK_UTF8CHAR_PTR) "ABC12", 5));
	EXPECT(R_SESSION_READ_ONLY, F->C_SetPIN(s, (CK_UTF8CHAR_PTR)auth_pin, 4, (CK_UTF8CHAR_PTR) "4321", 4));

	/* 6. out of order, before login */
	{
		CK_BYTE buf[512];
		CK_ULONG len = sizeof buf;
		CK_MECHANISM m = {M_SHA256_RSA_PKCS, NULL, 0};
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_SignUpdate(s, buf, 4));
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_SignFinal(s, buf, &len));
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_Sign(s, buf, 4, buf, &len));
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_FindObjects(s, slots, 1, &n));
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_FindObjectsFinal(s));
		EXPECT(R_KEY_HANDLE_INVALID, F->C_SignInit(s, &m, 0));
		EXPECT(R_KEY_HANDLE_INVALID, F->C_SignInit(s, &m, 0x12345));
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_DigestUpdate(s, buf, 1));
	}

	/* 7. login for real, then signing with short buffers and out-of-order calls */
	EXPECT(CKR_OK, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR)auth_pin, 4));
	EXPECT(R_USER_ALREADY_LOGGED_IN, F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR)auth_pin, 4));
	{
		CK_OBJECT_HANDLE key = find_one(s, O_PRIVATE_KEY), cert = find_one(s, O_CERTIFICATE);
		CK_BYTE msg[] = "hostile caller";
		CK_BYTE sig[512], small[8];
		CK_ULONG len;
		CK_MECHANISM m = {M_SHA256_RSA_PKCS, NULL, 0};
		CHECK(key != 0 && cert != 0);

		/* unsupported mechanisms and bad parameters */
		CK_MECHANISM aes = {M_AES_CBC, NULL, 0}, ec = {M_ECDSA, NULL, 0}, bogus = {0x7FFFFFFFUL, NULL, 0};
		CK_BYTE junk[3] = {1, 2, 3};
		CK_MECHANISM withparam = {M_SHA256_RSA_PKCS, junk, 3};
		CK_MECHANISM pss_noparam = {M_SHA256_RSA_PKCS_PSS, NULL, 0};
		CK_MECHANISM pss_short = {M_SHA256_RSA_PKCS_PSS, junk, 3};
		EXPECT(R_MECHANISM_INVALID, F->C_SignInit(s, &aes, key));
		EXPECT(R_MECHANISM_INVALID, F->C_SignInit(s, &ec, key));
		EXPECT(R_MECHANISM_INVALID, F->C_SignInit(s, &bogus, key));
		EXPECT(R_MECHANISM_INVALID, F->C_SignInit(s, &pss_noparam, key));
		EXPECT(R_MECHANISM_INVALID, F->C_SignInit(s, &pss_short, key));
		EXPECT(R_MECHANISM_PARAM_INVALID, F->C_SignInit(s, &withparam, key));
		EXPECT(R_KEY_HANDLE_INVALID, F->C_SignInit(s, &m, cert));
		EXPECT(R_MECHANISM_INVALID, F->C_DigestInit(s, &aes));

		/* short buffer, then the right one: the operation survives */
		EXPECT(CKR_OK, F->C_SignInit(s, &m, key));
		EXPECT(R_OPERATION_ACTIVE, F->C_SignInit(s, &m, key));
		len = 0;
		EXPECT(CKR_OK, F->C_Sign(s, msg, sizeof msg - 1, NULL, &len));
		CHECK(len == 256);
		len = sizeof small;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_Sign(s, msg, sizeof msg - 1, small, &len));
		CHECK(len == 256);
		len = 0;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_Sign(s, msg, sizeof msg - 1, small, &len));
		CHECK(len == 256);
		len = sizeof sig;
		EXPECT(CKR_OK, F->C_Sign(s, msg, sizeof msg - 1, sig, &len));
		CHECK(len == 256);
		if (len == 256)
			print_sig("auth", msg, sizeof msg - 1, sig, len);
		/* C_Sign twice: the first call ended the operation */
		len = sizeof sig;
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_Sign(s, msg, sizeof msg - 1, sig, &len));

		/* multi-part with a short final buffer */
		EXPECT(CKR_OK, F->C_SignInit(s, &m, key));
		EXPECT(CKR_OK, F->C_SignUpdate(s, msg, 7));
		EXPECT(CKR_OK, F->C_SignUpdate(s, msg + 7, sizeof msg - 1 - 7));
		EXPECT(CKR_OK, F->C_SignUpdate(s, NULL, 0));
		len = 10;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_SignFinal(s, small, &len));
		CHECK(len == 256);
		len = sizeof sig;
		EXPECT(CKR_OK, F->C_SignFinal(s, sig, &len));
		if (len == 256)
			print_sig("auth", msg, sizeof msg - 1, sig, len);
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_SignFinal(s, sig, &len));

		/* single-part after update is refused, and ends the operation */
		EXPECT(CKR_OK, F->C_SignInit(s, &m, key));
		EXPECT(CKR_OK, F->C_SignUpdate(s, msg, 3));
		len = sizeof sig;
		CK_RV mixed = F->C_Sign(s, msg, 3, sig, &len);
		CHECK(mixed == R_OPERATION_ACTIVE || mixed == R_OPERATION_NOT_INITIALIZED);
		EXPECT(CKR_OK, F->C_SessionCancel(s, 0x800UL /* CKF_SIGN */));
		len = sizeof sig;
		EXPECT(R_OPERATION_NOT_INITIALIZED, F->C_SignFinal(s, sig, &len));

		/* CKM_RSA_PKCS: data longer than the key allows */
		CK_MECHANISM raw = {M_RSA_PKCS, NULL, 0};
		CK_BYTE big[300];
		memset(big, 0x41, sizeof big);
		EXPECT(CKR_OK, F->C_SignInit(s, &raw, key));
		len = sizeof sig;
		EXPECT(R_DATA_LEN_RANGE, F->C_Sign(s, big, sizeof big, sig, &len));
		EXPECT(CKR_OK, F->C_SignInit(s, &raw, key));
		len = sizeof sig;
		EXPECT(CKR_OK, F->C_Sign(s, big, 32, sig, &len));

		/* verify: wrong signature and wrong length */
		EXPECT(CKR_OK, F->C_VerifyInit(s, &m, find_one(s, 2 /* public key */)));
		EXPECT(R_SIGNATURE_LEN_RANGE, F->C_Verify(s, msg, sizeof msg - 1, sig, 10));
		EXPECT(CKR_OK, F->C_VerifyInit(s, &m, find_one(s, 2)));
		sig[0] ^= 1;
		EXPECT(R_SIGNATURE_INVALID, F->C_Verify(s, msg, sizeof msg - 1, sig, 256));

		/* digest with short buffers */
		CK_MECHANISM sha = {M_SHA256, NULL, 0};
		EXPECT(CKR_OK, F->C_DigestInit(s, &sha));
		len = 4;
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_Digest(s, msg, 3, small, &len));
		CHECK(len == 32);
		len = sizeof sig;
		EXPECT(CKR_OK, F->C_Digest(s, msg, 3, sig, &len));
		CHECK(len == 32);

		/* 8. templates: unknown attributes, NULL pValue, wrong sizes */
		CK_ULONG cls = 0, bad3 = O_CERTIFICATE;
		CK_BYTE val[4096];
		CK_ATTRIBUTE get[3];
		get[0] = (CK_ATTRIBUTE){A_CLASS, &cls, sizeof cls};
		get[1] = (CK_ATTRIBUTE){0x7FFF1234UL, val, sizeof val};
		get[2] = (CK_ATTRIBUTE){A_LABEL, val, 1};
		EXPECT(R_ATTRIBUTE_TYPE_INVALID, F->C_GetAttributeValue(s, cert, get, 3));
		CHECK(cls == O_CERTIFICATE);
		CHECK(get[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
		get[1] = (CK_ATTRIBUTE){A_VALUE, NULL, 0};
		get[2] = (CK_ATTRIBUTE){A_LABEL, val, 1};
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_GetAttributeValue(s, cert, get, 3));
		CHECK(get[1].ulValueLen > 100 && get[1].ulValueLen < 4096);
		CHECK(get[2].ulValueLen == CK_UNAVAILABLE_INFORMATION);
		get[0] = (CK_ATTRIBUTE){A_CLASS, &cls, 3};
		EXPECT(CKR_BUFFER_TOO_SMALL, F->C_GetAttributeValue(s, cert, get, 1));
		CHECK(get[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
		get[0] = (CK_ATTRIBUTE){0x11UL /* CKA_VALUE: not an RSA key attribute */, val, sizeof val};
		EXPECT(R_ATTRIBUTE_TYPE_INVALID, F->C_GetAttributeValue(s, key, get, 1));
		get[0] = (CK_ATTRIBUTE){0x123UL /* CKA_PRIVATE_EXPONENT */, val, sizeof val};
		EXPECT(R_ATTRIBUTE_SENSITIVE, F->C_GetAttributeValue(s, key, get, 1));
		CHECK(get[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
		EXPECT(CKR_OK, F->C_GetAttributeValue(s, cert, NULL, 0));
		EXPECT(R_OBJECT_HANDLE_INVALID, F->C_GetAttributeValue(s, 0, get, 1));
		EXPECT(R_OBJECT_HANDLE_INVALID, F->C_GetAttributeValue(s, 0xABCDEF, get, 1));
		/* an auth object handle used on a sign-token session */
		get[0] = (CK_ATTRIBUTE){A_CLASS, &cls, sizeof cls};
		EXPECT(R_OBJECT_HANDLE_INVALID, F->C_GetAttributeValue(rw, cert, get, 1));

		CK_ATTRIBUTE find[2];
		CK_OBJECT_HANDLE hs[8];
		find[0] = (CK_ATTRIBUTE){A_CLASS, &bad3, 3}; /* CKA_CLASS with ulValueLen 3 */
		EXPECT(CKR_OK, F->C_FindObjectsInit(s, find, 1));
		n = 99;
		EXPECT(CKR_OK, F->C_FindObjects(s, hs, 8, &n));
		CHECK(n == 0);
		EXPECT(R_OPERATION_ACTIVE, F->C_FindObjectsInit(s, find, 1));
		EXPECT(CKR_OK, F->C_FindObjectsFinal(s));
		find[0] = (CK_ATTRIBUTE){0x7FFF1234UL, val, 4}; /* unknown attribute: matches nothing */
		EXPECT(CKR_OK, F->C_FindObjectsInit(s, find, 1));
		n = 99;
		EXPECT(CKR_OK, F->C_FindObjects(s, hs, 8, &n));
		CHECK(n == 0);
		EXPECT(CKR_OK, F->C_FindObjectsFinal(s));
		/* find in pieces with max 0 and 1 */
		EXPECT(CKR_OK, F->C_FindObjectsInit(s, NULL, 0));
		n = 99;
		EXPECT(CKR_OK, F->C_FindObjects(s, hs, 0, &n));
		CHECK(n == 0);
		CK_ULONG total = 0;
		for (int k = 0; k < 20; k++) {
			EXPECT(CKR_OK, F->C_FindObjects(s, hs, 1, &n));
			if (n == 0)
				break;
			total += n;
		}
		CHECK(total >= 4);
		EXPECT(CKR_OK, F->C_FindObjectsFinal(s));

		/* read-only token */
		CK_ATTRIBUTE mk[] = {{A_CLASS, &bad3, sizeof bad3}};
		CK_OBJECT_HANDLE newh;
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_CreateObject(rw, mk, 1, &newh));
		/* CKR_TOKEN_WRITE_PROTECTED outranks CKR_SESSION_READ_ONLY (§5.1.6) */
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_DestroyObject(s, cert));
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_SetAttributeValue(s, cert, mk, 1));
		CK_SESSION_HANDLE arw;
		EXPECT(CKR_OK, F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &arw));
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_DestroyObject(arw, cert));
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_SetAttributeValue(arw, cert, mk, 1));
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_CreateObject(arw, mk, 1, &newh));
		EXPECT(CKR_OK, F->C_CloseSession(arw));
		EXPECT(R_TOKEN_WRITE_PROTECTED, F->C_CopyObject(s, cert, mk, 1, &newh));
		len = 0;
		EXPECT(CKR_OK, F->C_GetObjectSize(s, cert, &len));
		EXPECT(R_OBJECT_HANDLE_INVALID, F->C_GetObjectSize(s, 0xABCDEF, &len));

		/* a slot event query that must not block */
		CK_SLOT_ID ev;
		for (int k = 0; k < 8 && F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL) == CKR_OK; k++)
			; /* drain the insertion events of the start */
		EXPECT(R_NO_EVENT, F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL));

		/* session handle of a token whose sessions were all closed */
		EXPECT(CKR_OK, F->C_CloseAllSessions(auth_slot));
		EXPECT(R_SESSION_HANDLE_INVALID, F->C_SignInit(s, &m, key));
		EXPECT(R_SESSION_HANDLE_INVALID, F->C_Logout(s));
		/* the key handle of the closed login is gone */
		EXPECT(CKR_OK, F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
		EXPECT(R_USER_NOT_LOGGED_IN, F->C_SignInit(s, &m, key)); /* a private key needs the login */
	}

	/* 9. finalize; initialize again: the old sessions are gone */
	EXPECT(CKR_OK, F->C_Finalize(NULL));
	EXPECT(CKR_OK, F->C_Initialize(NULL));
	{
		CK_SESSION_INFO si;
		EXPECT(R_SESSION_HANDLE_INVALID, F->C_GetSessionInfo(s, &si));
	}
	EXPECT(CKR_OK, F->C_Finalize(NULL));

	out("checks %d\n", n_checks);
	out("bad_count %d\n", n_bad);
	if (n_bad)
		return fail("expectations failed");
	out("RESULT ok\n");
	return 0;
}

/* ---------------------------------------------------------------- fork */

static volatile int fork_stop;
static CK_SESSION_HANDLE fork_sess;
static int fork_thread_signs;

static void *fork_signer(void *arg)
{
	(void)arg;
	CK_BYTE msg[32];
	for (int i = 0; !fork_stop && i < 10000; i++) {
		int k = snprintf((char *)msg, sizeof msg, "bg %d", i);
		CK_RV rv = sign_once(fork_sess, "auth", msg, (CK_ULONG)k);
		if (rv != CKR_OK) {
			out("bad background sign 0x%lx\n", rv);
			__atomic_add_fetch(&n_bad, 1, __ATOMIC_SEQ_CST);
			break;
		}
		fork_thread_signs++;
	}
	return NULL;
}

static int mode_fork(void)
{
	CK_SESSION_HANDLE s;
	if (F->C_Initialize(NULL) != CKR_OK || !find_slots())
		return fail("init");
	if (F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
	    F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR)auth_pin, 4) != CKR_OK)
		return fail("login");
	EXPECT(CKR_OK, sign_once(s, "auth", (const CK_BYTE *)"before fork", 11));
	if (F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &fork_sess) != CKR_OK)
		return fail("second session");
	pthread_t th;
	pthread_create(&th, NULL, fork_signer, NULL);
	while (fork_thread_signs < 2)
		usleep(1000);

	int pipefd[2];
	if (pipe(pipefd) != 0)
		return fail("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* child: every call must answer at once, with an error */
		char buf[512];
		size_t o = 0;
		CK_INFO info;
		CK_SESSION_HANDLE cs;
		CK_BYTE sig[512];
		CK_ULONG len = sizeof sig;
		CK_MECHANISM m = {M_SHA256_RSA_PKCS, NULL, 0};
		double t0 = now();
		CK_RV rv[7];
		rv[0] = F->C_GetInfo(&info);
		rv[1] = F->C_SignInit(s, &m, 1);
		rv[2] = F->C_Sign(s, (CK_BYTE_PTR) "x", 1, sig, &len);
		rv[3] = F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &cs);
		rv[4] = F->C_Finalize(NULL);
		rv[5] = F->C_Initialize(NULL);
		rv[6] = F->C_GetSlotList(CK_TRUE, NULL, &len);
		double took = now() - t0;
		for (int i = 0; i < 7; i++)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "child_rv%d 0x%lx\n", i, rv[i]);
		o += (size_t)snprintf(buf + o, sizeof buf - o, "child_seconds %.3f\n", took);
		if (write(pipefd[1], buf, o) < 0) {
		}
		_exit(0);
	}
	close(pipefd[1]);
	double t0 = now();
	int status = 0, done = 0;
	while (now() - t0 < 1.0) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			done = 1;
			break;
		}
		usleep(2000);
	}
	double took = now() - t0;
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		out("child_hung 1\n");
		__atomic_add_fetch(&n_bad, 1, __ATOMIC_SEQ_CST);
	}
	char buf[512];
	ssize_t r = read(pipefd[0], buf, sizeof buf - 1);
	if (r > 0) {
		buf[r] = 0;
		out("%s", buf);
	}
	out("child_exit %d\n", done && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	out("child_wait_seconds %.3f\n", took);

	fork_stop = 1;
	pthread_join(th, NULL);
	out("background_signs %d\n", fork_thread_signs);
	EXPECT(CKR_OK, sign_once(s, "auth", (const CK_BYTE *)"after fork", 10));
	/* and a fresh session and login on the other token works too */
	CK_SESSION_HANDLE ss;
	EXPECT(CKR_OK, F->C_OpenSession(sign_slot, CKF_SERIAL_SESSION, NULL, NULL, &ss));
	EXPECT(CKR_OK, F->C_Login(ss, U_USER, (CK_UTF8CHAR_PTR)sign_pin, 6));
	EXPECT(CKR_OK, sign_once(ss, "sign", (const CK_BYTE *)"after fork sign", 15));
	EXPECT(CKR_OK, F->C_Finalize(NULL));
	out("bad_count %d\n", n_bad);
	if (n_bad)
		return fail("fork expectations failed");
	out("RESULT ok\n");
	return 0;
}

/* ---------------------------------------------------------------- stress */

static int stress_seconds, stress_max;
static int stress_done_signs, stress_errors, stress_stop;
static double stress_t0;

static void *stress_worker(void *arg)
{
	long id = (long)arg;
	int iter = 0;
	while (!__atomic_load_n(&stress_stop, __ATOMIC_SEQ_CST)) {
		if (now() - stress_t0 > stress_seconds)
			break;
		int ticket = __atomic_add_fetch(&stress_done_signs, 1, __ATOMIC_SEQ_CST);
		if (ticket > stress_max)
			break;
		int sign_tok = (id + iter) % 2;
		CK_SLOT_ID slot = sign_tok ? sign_slot : auth_slot;
		CK_SESSION_HANDLE s;
		CK_RV rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
		if (rv == CKR_OK) {
			rv = sign_tok ? F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR)sign_pin, 6)
				      : F->C_Login(s, U_USER, (CK_UTF8CHAR_PTR)auth_pin, 4);
			if (rv == R_USER_ALREADY_LOGGED_IN)
				rv = CKR_OK;
			if (rv == CKR_OK) {
				CK_BYTE msg[48];
				int k = snprintf((char *)msg, sizeof msg, "stress t%ld i%d", id, iter);
				rv = sign_once(s, sign_tok ? "sign" : "auth", msg, (CK_ULONG)k);
			}
			CK_RV rc = F->C_CloseSession(s);
			if (rv == CKR_OK)
				rv = rc;
		}
		if (rv != CKR_OK) {
			__atomic_add_fetch(&stress_errors, 1, __ATOMIC_SEQ_CST);
			out("bad worker %ld iteration %d: 0x%lx\n", id, iter, rv);
		}
		iter++;
	}
	return NULL;
}

static void *stress_waiter(void *arg)
{
	(void)arg;
	for (;;) {
		CK_SLOT_ID slot;
		CK_RV rv = F->C_WaitForSlotEvent(0, &slot, NULL);
		if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
			out("waiter_end 0x%lx\n", rv);
			return NULL;
		}
		if (rv != CKR_OK) {
			out("bad waiter 0x%lx\n", rv);
			__atomic_add_fetch(&stress_errors, 1, __ATOMIC_SEQ_CST);
			return NULL;
		}
	}
}

static void *stress_poller(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stress_stop, __ATOMIC_SEQ_CST)) {
		CK_SLOT_ID slots[8];
		CK_ULONG n = 8;
		CK_RV rv = F->C_GetSlotList(CK_TRUE, slots, &n);
		if (rv == CKR_CRYPTOKI_NOT_INITIALIZED)
			return NULL;
		for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
			CK_TOKEN_INFO ti;
			rv = F->C_GetTokenInfo(slots[i], &ti);
		}
		if (rv != CKR_OK && rv != CKR_CRYPTOKI_NOT_INITIALIZED) {
			out("bad poller 0x%lx\n", rv);
			__atomic_add_fetch(&stress_errors, 1, __ATOMIC_SEQ_CST);
			return NULL;
		}
		usleep(1000);
	}
	return NULL;
}

static int mode_stress(int threads, int seconds, int max)
{
	stress_seconds = seconds;
	stress_max = max;
	if (F->C_Initialize(NULL) != CKR_OK || !find_slots())
		return fail("init");
	/* One long-lived logged-in session per token: logins stay for the run. */
	CK_SESSION_HANDLE keep_a, keep_s;
	if (F->C_OpenSession(auth_slot, CKF_SERIAL_SESSION, NULL, NULL, &keep_a) != CKR_OK ||
	    F->C_Login(keep_a, U_USER, (CK_UTF8CHAR_PTR)auth_pin, 4) != CKR_OK ||
	    F->C_OpenSession(sign_slot, CKF_SERIAL_SESSION, NULL, NULL, &keep_s) != CKR_OK ||
	    F->C_Login(keep_s, U_USER, (CK_UTF8CHAR_PTR)sign_pin, 6) != CKR_OK)
		return fail("login");
	stress_t0 = now();
	pthread_t w[128], wait[4], poll;
	if (threads > 128)
		threads = 128;
	for (int i = 0; i < 4; i++)
		pthread_create(&wait[i], NULL, stress_waiter, NULL);
	pthread_create(&poll, NULL, stress_poller, NULL);
	for (long i = 0; i < threads; i++)
		pthread_create(&w[i], NULL, stress_worker, (void *)i);
	for (int i = 0; i < threads; i++)
		pthread_join(w[i], NULL);
	int signs = stress_done_signs > stress_max ? stress_max : stress_done_signs;
	out("workers_done %d\n", threads);
	/* C_Finalize while the waiters block and the poller polls */
	EXPECT(CKR_OK, F->C_Finalize(NULL));
	__atomic_store_n(&stress_stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 4; i++)
		pthread_join(wait[i], NULL);
	pthread_join(poll, NULL);
	out("attempts %d\n", signs);
	out("errors %d\n", stress_errors);
	out("seconds %.1f\n", now() - stress_t0);
	if (stress_errors || n_bad)
		return fail("stress errors");
	out("RESULT ok\n");
	return 0;
}

/* ---------------------------------------------------------------- fork in a plain host, C threads */

/* These modes load the module with C_GetFunctionList only (no other call before they fork). */
/*
 * Waits for pid for at most limit seconds; kills it when it is still running
 * then. Returns the wait status, or -1 when the child hung.
 */
static int wait_bounded(pid_t pid, double limit, double *took)
{
	double t0 = now();
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			*took = now() - t0;
			return status;
		}
		if (r < 0 && errno != EINTR) {
			*took = now() - t0;
			return -2;
		}
		if (now() - t0 > limit) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			*took = now() - t0;
			return -1;
		}
		usleep(10000);
	}
}

/* In the child: every call must come back CKR_GENERAL_ERROR. */
static int child_calls(CK_FUNCTION_LIST_PTR fl)
{
	CK_INFO info;
	CK_ULONG n = 0;
	CK_RV rvs[4];
	int i, bad = 0;

	rvs[0] = fl->C_GetInfo(&info);
	rvs[1] = fl->C_GetSlotList(CK_FALSE, NULL, &n);
	rvs[2] = fl->C_Initialize(NULL);
	rvs[3] = fl->C_Finalize(NULL);
	for (i = 0; i < 4; i++) {
		printf("child_rv%d 0x%lx\n", i, rvs[i]);
		if (rvs[i] != CKR_GENERAL_ERROR)
			bad = 1;
	}
	fflush(stdout);
	return bad;
}

static int run_fork(const char *lib, int early)
{
	void *h = p11load_open_or_print(lib);
	CK_FUNCTION_LIST_PTR fl;
	CK_INFO info;
	CK_ULONG n = 0;
	CK_RV rv;
	pid_t pid;
	int status;
	double took;

	if (h == NULL)
		return fail("dlopen");
	fl = p11load_function_list(h);
	if (fl == NULL)
		return fail("C_GetFunctionList");
	if (!early) {
		rv = fl->C_Initialize(NULL);
		printf("parent_initialize 0x%lx\n", rv);
		if (rv != CKR_OK)
			return fail("parent C_Initialize");
		rv = fl->C_GetSlotList(CK_FALSE, NULL, &n);
		printf("parent_slots_before 0x%lx %lu\n", rv, n);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0)
		_exit(child_calls(fl));
	status = wait_bounded(pid, 10.0, &took);
	printf("child_seconds %.3f\n", took);
	if (status == -1)
		return fail("child hung (killed after 10 s)");
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail("child did not get CKR_GENERAL_ERROR from every call");
	if (early) {
		rv = fl->C_Initialize(NULL);
		printf("parent_initialize 0x%lx\n", rv);
		if (rv != CKR_OK)
			return fail("parent C_Initialize after fork");
	}
	rv = fl->C_GetInfo(&info);
	printf("parent_getinfo 0x%lx\n", rv);
	if (rv != CKR_OK)
		return fail("parent C_GetInfo after fork");
	rv = fl->C_GetSlotList(CK_FALSE, NULL, &n);
	printf("parent_slots_after 0x%lx %lu\n", rv, n);
	if (rv != CKR_OK)
		return fail("parent C_GetSlotList after fork");
	rv = fl->C_Finalize(NULL);
	printf("parent_finalize 0x%lx\n", rv);
	if (rv != CKR_OK)
		return fail("parent C_Finalize");
	printf("RESULT ok\n");
	return 0;
}

struct thread_arg {
	CK_FUNCTION_LIST_PTR fl;
	int errors;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	CK_INFO info;
	CK_ULONG n;
	int i;

	for (i = 0; i < 200; i++) {
		n = 0;
		if (a->fl->C_GetInfo(&info) != CKR_OK || a->fl->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK)
			a->errors++;
	}
	return NULL;
}

static int run_threads(const char *lib, int nthreads)
{
	void *h = p11load_open_or_print(lib);
	CK_FUNCTION_LIST_PTR fl;
	pthread_t *th;
	struct thread_arg *args;
	pthread_attr_t attr;
	int i, errors = 0;
	CK_RV rv;

	if (h == NULL || (fl = p11load_function_list(h)) == NULL)
		return fail("load");
	if ((rv = fl->C_Initialize(NULL)) != CKR_OK) {
		printf("initialize 0x%lx\n", rv);
		return fail("C_Initialize");
	}
	th = calloc(nthreads, sizeof(*th));
	args = calloc(nthreads, sizeof(*args));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < nthreads; i++) {
		args[i].fl = fl;
		if (pthread_create(&th[i], &attr, thread_main, &args[i]) != 0)
			return fail("pthread_create");
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		errors += args[i].errors;
	}
	printf("errors %d\n", errors);
	fl->C_Finalize(NULL);
	if (errors)
		return fail("calls failed in threads");
	printf("RESULT ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: hostile LIB calls|fork|stress T S N|forkafteruse|forkearly|threads N\n");
		return 2;
	}
	if (!strcmp(argv[2], "forkafteruse") || !strcmp(argv[2], "forkearly") || !strcmp(argv[2], "threads")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		if (!strcmp(argv[2], "threads"))
			return argc > 3 ? run_threads(argv[1], atoi(argv[3])) : fail("threads N");
		return run_fork(argv[1], !strcmp(argv[2], "forkearly"));
	}
	signal(SIGALRM, watchdog);
	alarm(argc > 6 ? (unsigned)atoi(argv[6]) : 120);
	if (!load(argv[1]))
		return fail("cannot load the module");
	if (!strcmp(argv[2], "calls"))
		return mode_calls();
	if (!strcmp(argv[2], "fork"))
		return mode_fork();
	if (!strcmp(argv[2], "stress") && argc >= 6)
		return mode_stress(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	return fail("unknown mode");
}
