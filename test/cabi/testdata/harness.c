/*
 * harness.c — drives libmyna-pkcs11.so from plain C, for what a Go host
 * cannot check: fork, dlopen/dlclose/dlopen, C threads, the raw function
 * tables. Built and run by ../cabi_test.go (`go test ./test/cabi`).
 *
 *   harness LIB fork         initialise, use, fork: the child must get
 *                            CKR_GENERAL_ERROR fast; the parent keeps working
 *   harness LIB forkearly    fork right after C_GetFunctionList, before any
 *                            other call: the child must fail fast too
 *   harness LIB reload       dlopen, use, dlclose, dlopen, use again
 *   harness LIB tables NAMES check both function tables entry by entry
 *                            against dlsym of the names in file NAMES
 *   harness LIB threads N    N C threads with 64 KiB stacks calling in
 *
 * Output: one "key value" line per fact, then "RESULT ok" or
 * "RESULT fail <why>"; the exit status is 0 only with RESULT ok.
 * Uses the project's own c/pkcs11t.h and c/pkcs11f_gen.h (-I c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pkcs11t.h"
#include "pkcs11f_gen.h"

typedef CK_RV (*get_function_list_fn)(CK_FUNCTION_LIST_PTR_PTR);
typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);

static int fail(const char *why)
{
	printf("RESULT fail %s\n", why);
	return 1;
}

static void *open_lib(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		printf("dlopen_error %s\n", dlerror());
	return h;
}

static CK_FUNCTION_LIST_PTR function_list(void *h)
{
	get_function_list_fn gfl = (get_function_list_fn)dlsym(h, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR fl = NULL;
	if (gfl == NULL || gfl(&fl) != CKR_OK)
		return NULL;
	return fl;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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
	void *h = open_lib(lib);
	CK_FUNCTION_LIST_PTR fl;
	CK_INFO info;
	CK_ULONG n = 0;
	CK_RV rv;
	pid_t pid;
	int status;
	double took;

	if (h == NULL)
		return fail("dlopen");
	fl = function_list(h);
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

static int run_reload(const char *lib)
{
	void *h1, *h2;
	CK_FUNCTION_LIST_PTR fl1, fl2;
	CK_INFO info;
	CK_RV rv;

	h1 = open_lib(lib);
	if (h1 == NULL || (fl1 = function_list(h1)) == NULL)
		return fail("first load");
	if ((rv = fl1->C_Initialize(NULL)) != CKR_OK || (rv = fl1->C_GetInfo(&info)) != CKR_OK ||
	    (rv = fl1->C_Finalize(NULL)) != CKR_OK) {
		printf("first_rv 0x%lx\n", rv);
		return fail("first use");
	}
	printf("dlclose %d\n", dlclose(h1));
	h2 = open_lib(lib);
	if (h2 == NULL || (fl2 = function_list(h2)) == NULL)
		return fail("second load");
	printf("same_table %d\n", fl1 == fl2);
	if ((rv = fl2->C_Initialize(NULL)) != CKR_OK || (rv = fl2->C_GetInfo(&info)) != CKR_OK ||
	    (rv = fl2->C_Finalize(NULL)) != CKR_OK) {
		printf("second_rv 0x%lx\n", rv);
		return fail("second use");
	}
	printf("RESULT ok\n");
	return 0;
}

static int run_tables(const char *lib, const char *names_path)
{
	void *h = open_lib(lib);
	FILE *f;
	char name[128];
	char *names[MYNA_N_FUNCTIONS_3_0];
	int n = 0, i, bad = 0;
	CK_FUNCTION_LIST_PTR fl;
	CK_INTERFACE_PTR it = NULL;
	get_interface_fn gi;
	CK_VERSION v30 = {3, 0};
	void **t240, **t30;

	if (h == NULL || (fl = function_list(h)) == NULL)
		return fail("load");
	gi = (get_interface_fn)dlsym(h, "C_GetInterface");
	if (gi == NULL || gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &it, 0) != CKR_OK || it == NULL)
		return fail("C_GetInterface 3.0");
	f = fopen(names_path, "r");
	if (f == NULL)
		return fail("open names");
	while (n < MYNA_N_FUNCTIONS_3_0 && fscanf(f, "%127s", name) == 1)
		names[n++] = strdup(name);
	fclose(f);
	printf("names %d\n", n);
	if (n != MYNA_N_FUNCTIONS_3_0)
		return fail("names file does not hold 92 names");
	printf("version_2_40 %d.%d\n", fl->version.major, fl->version.minor);
	printf("version_3_0 %d.%d\n", ((CK_VERSION *)it->pFunctionList)->major,
	       ((CK_VERSION *)it->pFunctionList)->minor);
	/* Entries follow the version (padded to pointer alignment). */
	t240 = (void **)((char *)fl + offsetof(CK_FUNCTION_LIST, C_Initialize));
	t30 = (void **)((char *)it->pFunctionList + offsetof(CK_FUNCTION_LIST_3_0, C_Initialize));
	for (i = 0; i < n; i++) {
		void *sym = dlsym(h, names[i]);
		if (sym == NULL || t30[i] != sym || (i < MYNA_N_FUNCTIONS_2_40 && t240[i] != sym)) {
			printf("mismatch %s\n", names[i]);
			bad++;
		}
	}
	printf("mismatches %d\n", bad);
	if (bad)
		return fail("table entry differs from the exported symbol");
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
	void *h = open_lib(lib);
	CK_FUNCTION_LIST_PTR fl;
	pthread_t *th;
	struct thread_arg *args;
	pthread_attr_t attr;
	int i, errors = 0;
	CK_RV rv;

	if (h == NULL || (fl = function_list(h)) == NULL)
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
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: %s LIB fork|forkearly|reload|tables NAMES|threads N\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[2], "fork") == 0)
		return run_fork(argv[1], 0);
	if (strcmp(argv[2], "forkearly") == 0)
		return run_fork(argv[1], 1);
	if (strcmp(argv[2], "reload") == 0)
		return run_reload(argv[1]);
	if (strcmp(argv[2], "tables") == 0 && argc > 3)
		return run_tables(argv[1], argv[3]);
	if (strcmp(argv[2], "threads") == 0 && argc > 3)
		return run_threads(argv[1], atoi(argv[3]));
	fprintf(stderr, "unknown mode %s\n", argv[2]);
	return 2;
}
