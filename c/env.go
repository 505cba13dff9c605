package main

/*
#include <stddef.h>
extern char **environ;
static char *myna_environ_at(size_t i) { return environ[i]; }
*/
import "C"

import (
	"os"
	"strings"
)

// envPrefix marks the variables the module reads (MYNA_PKCS11_SIM, ...).
const envPrefix = "MYNA_PKCS11_"

// syncEnv copies the module's variables from the process environment
// (libc's environ) into the Go runtime's copy. The Go runtime of a c-shared
// library snapshots the environment when the library is loaded, so without
// this a variable the host sets between dlopen and C_Initialize (as a test
// harness or a launcher does) would be invisible to os.Getenv.
func syncEnv() {
	// Read everything first: setting variables below may reallocate environ.
	want := map[string]string{}
	for i := C.size_t(0); ; i++ {
		p := C.myna_environ_at(i)
		if p == nil {
			break
		}
		kv := C.GoString(p)
		if !strings.HasPrefix(kv, envPrefix) {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		want[k] = v
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := want[k]; strings.HasPrefix(k, envPrefix) && !ok {
			_ = os.Unsetenv(k)
		}
	}
	for k, v := range want {
		if old, ok := os.LookupEnv(k); !ok || old != v {
			_ = os.Setenv(k, v)
		}
	}
}
