/*
 * harness.c — loads libmyna-pkcs11.so from plain C, for what a Go host
 * cannot check of the binary: dlopen/dlclose/dlopen and the raw function
 * tables. Built and run by ../cabi_test.go (`go test ./test/cabi`). Fork and
 * C threads are test/hostile's (testdata/hostile.c).
 *
 *   harness LIB reload       dlopen, use, dlclose, dlopen, use again
 *   harness LIB tables NAMES check both function tables entry by entry
 *                            against dlsym of the names in file NAMES
 *
 * Output: one "key value" line per fact, then "RESULT ok" or
 * "RESULT fail <why>"; the exit status is 0 only with RESULT ok.
 * Uses the project's own c/pkcs11t.h and c/pkcs11f_gen.h (-I c) and the
 * tests' loader test/internal/p11load/p11load.h.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11load.h"


static int fail(const char *why)
{
	printf("RESULT fail %s\n", why);
	return 1;
}

static int run_reload(const char *lib)
{
	void *h1, *h2;
	CK_FUNCTION_LIST_PTR fl1, fl2;
	CK_INFO info;
	CK_RV rv;

	h1 = p11load_open_or_print(lib);
	if (h1 == NULL || (fl1 = p11load_function_list(h1)) == NULL)
		return fail("first load");
	if ((rv = fl1->C_Initialize(NULL)) != CKR_OK || (rv = fl1->C_GetInfo(&info)) != CKR_OK ||
	    (rv = fl1->C_Finalize(NULL)) != CKR_OK) {
		printf("first_rv 0x%lx\n", rv);
		return fail("first use");
	}
	printf("dlclose %d\n", dlclose(h1));
	h2 = p11load_open_or_print(lib);
	if (h2 == NULL || (fl2 = p11load_function_list(h2)) == NULL)
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
	void *h = p11load_open_or_print(lib);
	FILE *f;
	char name[128];
	char *names[MYNA_N_FUNCTIONS_3_0];
	int n = 0, i, bad = 0;
	CK_FUNCTION_LIST_PTR fl;
	CK_FUNCTION_LIST_3_0_PTR fl30;
	CK_VERSION v30 = {3, 0};
	void **t240, **t30;

	if (h == NULL || (fl = p11load_function_list(h)) == NULL)
		return fail("load");
	if ((fl30 = p11load_interface(h, "PKCS 11", &v30)) == NULL)
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
	printf("version_3_0 %d.%d\n", ((CK_VERSION *)fl30)->major,
	       ((CK_VERSION *)fl30)->minor);
	/* Entries follow the version (padded to pointer alignment). */
	t240 = (void **)((char *)fl + offsetof(CK_FUNCTION_LIST, C_Initialize));
	t30 = (void **)((char *)fl30 + offsetof(CK_FUNCTION_LIST_3_0, C_Initialize));
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

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: %s LIB reload|tables NAMES\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[2], "reload") == 0)
		return run_reload(argv[1]);
	if (strcmp(argv[2], "tables") == 0 && argc > 3)
		return run_tables(argv[1], argv[3]);
	fprintf(stderr, "unknown mode %s\n", argv[2]);
	return 2;
}
