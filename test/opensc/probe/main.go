// Command probe is the PKCS#11 + PC/SC probe of test/suites/opensc-compare.sh:
// it asks a PKCS#11 module (ours or OpenSC's) what a consumer would see, and
// the card what it still remembers, and prints JSON. PINs are read from a
// file and never printed.
//
//	probe tokens MODULE                   JSON list: label, manufacturer, model, serial, flags, PIN min/max
//	probe keys MODULE LABEL [PINFILE]     JSON: objects (class, CKA_ID, CKA_ALWAYS_AUTHENTICATE of private keys)
//	probe logout MODULE LABEL PINFILE EF TRACE READER
//	                                      JSON: C_Login, raw SIGN probe, C_Logout + its APDUs (from TRACE), probe
//	probe probe READER EF                 JSON: status word of SELECT JPKI AP + SELECT EF + SIGN without VERIFY
//	probe hold READER SECONDS             stay connected to the card (shared) until SIGTERM or SECONDS
//	probe reset READER                    connect and disconnect with SCARD_RESET_CARD (the card forgets its PINs)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const usage = `usage: probe tokens MODULE | keys MODULE LABEL [PINFILE] |
  logout MODULE LABEL PINFILE EF TRACE READER | probe READER EF |
  hold READER SECONDS | reset READER`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

// nargs is the number of arguments each command needs (at least).
var nargs = map[string]int{"tokens": 1, "keys": 2, "logout": 6, "probe": 2, "hold": 2, "reset": 1}

func run(a []string) error {
	if len(a) == 0 || len(a)-1 < nargs[a[0]] || nargs[a[0]] == 0 {
		return fmt.Errorf("%s", usage)
	}
	switch a[0] {
	case "tokens":
		m, err := openModule(a[1])
		if err != nil {
			return err
		}
		defer m.close()
		return printJSON(m.tokens())
	case "keys":
		pinFile := ""
		if len(a) > 3 {
			pinFile = a[3]
		}
		return keys(a[1], a[2], pinFile)
	case "logout":
		return logout(a[1], a[2], a[3], a[4], a[5], a[6])
	case "probe":
		return printJSON(map[string]string{"probe": signProbe(a[1], a[2])})
	case "hold":
		secs, err := strconv.ParseFloat(a[2], 64)
		if err != nil {
			return fmt.Errorf("hold: SECONDS %q: %w", a[2], err)
		}
		return hold(a[1], time.Duration(secs*float64(time.Second)))
	case "reset":
		c, err := connect(a[1])
		if err != nil {
			return err
		}
		c.close(true)
		return nil
	}
	return nil
}

// hold stays connected to the card in reader (shared, as a browser or
// ssh-agent would) until SIGTERM or d has passed.
func hold(reader string, d time.Duration) error {
	c, err := connect(reader)
	if err != nil {
		return err
	}
	defer c.close(false)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	fmt.Println("ready")
	select {
	case <-stop:
	case <-time.After(d):
	}
	return nil
}

func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(b))
	return err
}
