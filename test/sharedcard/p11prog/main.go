// Command p11prog is one long-lived program using the myna-pkcs11 module
// (through github.com/miekg/pkcs11), driven line by line by the
// shared-card driver: it reads commands of test/sharedcard/proto on
// stdin and answers each with one JSON line on stdout.
//
// Usage:
//
//	p11prog -module build/libmyna-pkcs11.so -auth-label L -sign-label L
//
// PIN values come from the environment (proto.PINEnv); the module's own
// settings (MYNA_PKCS11_*) are inherited. Diagnostics go to stderr; no PIN
// is ever written anywhere.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

func main() {
	module := flag.String("module", "", "the PKCS#11 module to load (required)")
	authLabel := flag.String("auth-label", "My Number Card (Auth)", "token label of the auth token")
	signLabel := flag.String("sign-label", "My Number Card (Sign)", "token label of the sign token")
	flag.Parse()
	if *module == "" {
		fmt.Fprintln(os.Stderr, "p11prog: -module is required")
		os.Exit(2)
	}
	p, err := open(*module, map[string]string{proto.TokenAuth: *authLabel, proto.TokenSign: *signLabel})
	if err != nil {
		fmt.Fprintln(os.Stderr, "p11prog:", err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout) // one line per Encode; stdout is unbuffered
	for in.Scan() {
		a, quit := p.do(in.Text())
		if err := out.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, "p11prog: writing the answer:", err)
			os.Exit(1)
		}
		if quit {
			return
		}
	}
	p.finalize()
}
