/*
 * loadtime: time from dlopen of a PKCS#11 module to the end of its first
 * C_GetSlotList (C_GetFunctionList, C_Initialize and C_GetSlotList with a
 * NULL list included), then the process's peak RSS after C_Finalize.
 * Prints one line: "<microseconds> <peak RSS KiB> <slots>".
 * Built by test/bench.sh with gcc; only the few PKCS#11 declarations it
 * needs are written here (ABI: CK_ULONG is unsigned long on Linux).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

typedef unsigned long ulong_t;
typedef ulong_t (*fn_initialize)(void *);
typedef ulong_t (*fn_finalize)(void *);
typedef ulong_t (*fn_get_slot_list)(unsigned char, ulong_t *, ulong_t *);

/* The first fields of CK_FUNCTION_LIST: version (2 bytes, padded), then
 * C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList. */
struct function_list {
	unsigned char major, minor;
	fn_initialize initialize;
	fn_finalize finalize;
	void *get_info;
	void *get_function_list;
	fn_get_slot_list get_slot_list;
};
typedef ulong_t (*fn_get_function_list)(struct function_list **);

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: loadtime MODULE.so\n");
		return 2;
	}
	double t0 = now_us();
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	fn_get_function_list gfl = (fn_get_function_list)dlsym(h, "C_GetFunctionList");
	struct function_list *fl = NULL;
	if (!gfl || gfl(&fl) != 0 || !fl) {
		fprintf(stderr, "C_GetFunctionList failed\n");
		return 1;
	}
	ulong_t rv = fl->initialize(NULL);
	if (rv != 0) {
		fprintf(stderr, "C_Initialize: 0x%lx\n", rv);
		return 1;
	}
	ulong_t n = 0;
	rv = fl->get_slot_list(1, NULL, &n);
	double t1 = now_us();
	if (rv != 0) {
		fprintf(stderr, "C_GetSlotList: 0x%lx\n", rv);
		return 1;
	}
	fl->finalize(NULL);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%.0f %ld %lu\n", t1 - t0, ru.ru_maxrss, n);
	return 0;
}
