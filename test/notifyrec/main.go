// Command notifyrec stands in for the desktop's notification service on
// a test's private session bus (DBUS_SESSION_BUS_ADDRESS): it owns
// org.freedesktop.Notifications, appends each Notify call to the file
// named by -out as one line "APP<TAB>URGENCY<TAB>SUMMARY<TAB>BODY", and
// prints "ready" once it owns the name. It runs until it is killed.
// test/suites/notify.sh uses it.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
)

type server struct {
	mu  sync.Mutex
	out *os.File
	n   uint32
}

// Notify records one notification and answers its id (1, 2, ...).
func (s *server) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u byte
	if v, ok := hints["urgency"]; ok {
		u, _ = v.Value().(byte)
	}
	flat := strings.NewReplacer("\t", " ", "\n", " ")
	if _, err := fmt.Fprintf(s.out, "%s\t%d\t%s\t%s\n", flat.Replace(app), u, flat.Replace(summary), flat.Replace(body)); err != nil {
		return 0, dbus.MakeFailedError(err)
	}
	s.n++
	return s.n, nil
}

func main() {
	out := flag.String("out", "", "file the notifications are appended to")
	flag.Parse()
	fmt.Fprintln(os.Stderr, "notifyrec:", run(*out))
	os.Exit(1)
}

// run serves until the process is killed; it returns only an error.
func run(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return err
	}
	if err := conn.Export(&server{out: f}, p11.NotifyPath, p11.NotifyInterface); err != nil {
		return err
	}
	reply, err := conn.RequestName(p11.NotifyBusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return err
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("%s is owned by another program", p11.NotifyBusName)
	}
	fmt.Println("ready")
	select {}
}
