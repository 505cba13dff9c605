package p11

// This file holds the desktop notifications the module sends when the
// card's answer to a PIN leaves it with few tries or finds it locked: a
// browser's PIN dialog says neither (it only asks again, or gives up).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// The freedesktop.org Desktop Notifications interface on the session bus
// (Desktop Notifications Specification 1.2,
// https://specifications.freedesktop.org/notification-spec/): the
// Notify method takes app_name, replaces_id, app_icon, summary, body,
// actions, hints and expire_timeout and returns the notification's id.
// Exported for the tests' stand-in notification service.
const (
	NotifyBusName   = "org.freedesktop.Notifications"
	NotifyPath      = dbus.ObjectPath("/org/freedesktop/Notifications")
	NotifyInterface = "org.freedesktop.Notifications"
	notifyMethod    = NotifyInterface + ".Notify"
	// NotifyApp is the app_name of the module's notifications.
	NotifyApp = "myna-pkcs11"

	// Urgency levels of the "urgency" hint (spec: "Urgency Levels").
	urgencyNormal   byte = 1
	urgencyCritical byte = 2
)

// notifyTimeout bounds one notification: connecting to the session bus,
// authenticating and the Notify call. C_Finalize and the process's exit
// wait for the notifications not yet delivered at most this long. A
// variable for tests only.
var notifyTimeout = 3 * time.Second

// notifyQueueMax is how many notifications may wait to be delivered;
// further ones are dropped (a program retrying in a loop gets no flood).
const notifyQueueMax = 4

// pinNotice is what a notification says about key's PIN after a card's
// answer: left tries remain (0: the PIN is locked). It carries nothing
// else: never the PIN, never anything read from a certificate.
type pinNotice struct {
	key  cardos.Key
	left int
}

// noticeOf returns the notice for the card's answer err to a PIN of key
// (C_Login, C_SetPIN), and false when it needs none: every wrong PIN
// that reached the card (the card then says how many tries remain) and a
// PIN found locked get one; a PIN refused before the card (malformed,
// no try spent), success and every other error get none.
func noticeOf(key cardos.Key, err error) (pinNotice, bool) {
	var wrong *cardos.WrongPINError
	switch {
	case errors.Is(err, cardos.ErrPINLocked):
		return pinNotice{key: key}, true
	case errors.As(err, &wrong):
		return pinNotice{key: key, left: wrong.TriesLeft}, true
	}
	return pinNotice{}, false
}

// text returns the notification's summary, body and urgency, in Japanese
// when ja is set and in English otherwise. A wrong PIN with two or more
// tries left is of normal urgency; the last try and a locked PIN are
// critical (most notification servers keep those until dismissed). The
// card answers a face-authentication card's PINs, which were never set,
// as locked (cardos.ErrPINLocked), so the locked text names that case
// too. The municipal office (市区町村の窓口) is the only place where a locked PIN
// can be reset (J-LIS, https://www.jpki.go.jp/): it is named in Japanese
// in both languages, as the person will need to ask for it there.
func (n pinNotice) text(ja bool) (summary, body string, urgency byte) {
	auth := n.key != cardos.SignKey
	if ja {
		name, full := "暗証番号", "利用者証明用電子証明書の暗証番号（数字4桁）"
		if !auth {
			name, full = "署名用パスワード", "署名用電子証明書の暗証番号（英数字6〜16文字）"
		}
		switch {
		case n.left == 0:
			face := ""
			if auth {
				face = "（顔認証マイナンバーカードの場合は、暗証番号が設定されていません）"
			}
			return "マイナンバーカード: " + name + "がロックされています",
				full + "は、誤りが続いたためロックされています" + face + "。" +
					"再設定するまで使えません。再設定は、お住まいの市区町村の窓口でのみできます。カードを持って窓口へ行ってください。",
				urgencyCritical
		case n.left == 1:
			return "マイナンバーカード: " + name + "の残り回数は1回です",
				full + "が違います。次に間違えるとロックされ、市区町村の窓口でしか解除できません。" +
					"確かでなければ、入力しないでください。",
				urgencyCritical
		}
		return "マイナンバーカード: " + name + "が違います",
			fmt.Sprintf("%sが違います。残り%d回です。正しく入力すると回数は元に戻ります。", full, n.left),
			urgencyNormal
	}
	name, full := "authentication PIN", "authentication PIN (4 digits)"
	if !auth {
		name, full = "signature password", "signature password (6 to 16 letters and digits)"
	}
	switch {
	case n.left == 0:
		face := ""
		if auth {
			face = " (or was never set, as on a face-authentication card)"
		}
		return "My Number Card: the " + name + " is locked",
			"The card refuses its " + full + ": it is locked after too many wrong tries" + face + ", and cannot be used until it is reset. " +
				"Only your municipal office (市区町村の窓口) can reset it: take the card there.",
			urgencyCritical
	case n.left == 1:
		return "My Number Card: last try for the " + name,
			"Wrong " + full + ". One try is left: one more wrong try locks it, and only your municipal office (市区町村の窓口) can reset it. " +
				"If you are not sure of it, do not try again.",
			urgencyCritical
	}
	return "My Number Card: wrong " + name,
		fmt.Sprintf("Wrong %s. %d tries left; the right one gives back every try.", full, n.left),
		urgencyNormal
}

// localeJapanese reports whether the messages' locale is Japanese: the
// first of LC_ALL, LC_MESSAGES and LANG that is set starts with "ja"
// (POSIX order of precedence for LC_MESSAGES).
func localeJapanese(getenv func(string) string) bool {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := getenv(v); l != "" {
			return strings.HasPrefix(l, "ja")
		}
	}
	return false
}

// sessionBusAddress returns the session bus's address: the one in
// DBUS_SESSION_BUS_ADDRESS, else the socket $XDG_RUNTIME_DIR/bus of
// systemd's user bus when it exists; "" when there is none. Unlike
// godbus's own lookup it never starts a bus (dbus-launch autolaunch)
// and never changes the host program's environment.
func sessionBusAddress(getenv func(string) string) string {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a
	}
	if dir := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(dir) {
		p := filepath.Join(dir, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + dbus.EscapeBusAddressValue(p)
		}
	}
	return ""
}

// notifier delivers notifications one at a time in a goroutine of its
// own, so that the PKCS#11 call that posted one returns at once and no
// card lock or module lock is held while the bus is spoken to. Each
// delivery is bounded by notifyTimeout; wait lets C_Finalize (and the
// process's exit) give the ones posted before it the time to arrive.
type notifier struct {
	mu      sync.Mutex
	enabled bool
	ja      bool
	log     *logger
	queue   []pinNotice
	idle    chan struct{} // closed when the running worker stops; nil when none runs
	lastID  uint32        // the last notification's id: the next one replaces it
}

// configure sets, at C_Initialize, whether notifications are sent, in
// which language and where delivery problems are logged.
func (n *notifier) configure(enabled, ja bool, log *logger) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.enabled, n.ja, n.log = enabled, ja, log
}

// post queues a notice for delivery and returns at once.
func (n *notifier) post(p pinNotice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.enabled {
		return
	}
	if len(n.queue) >= notifyQueueMax {
		n.log.debugf("notification: %d already waiting, this one dropped", len(n.queue))
		return
	}
	n.queue = append(n.queue, p)
	if n.idle == nil {
		n.idle = make(chan struct{})
		go n.run(n.idle, n.log)
	}
}

// notifyPIN posts the notification, if any, that the card's answer err
// to a PIN of key calls for (see noticeOf). It returns at once.
func (m *Module) notifyPIN(key cardos.Key, err error) {
	if p, ok := noticeOf(key, err); ok {
		m.notes.post(p)
	}
}

// run delivers the queued notices until none is left.
func (n *notifier) run(idle chan struct{}, log *logger) {
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			n.idle = nil
			close(idle)
			n.mu.Unlock()
			return
		}
		p := n.queue[0]
		n.queue = n.queue[1:]
		ja, replaces := n.ja, n.lastID
		n.mu.Unlock()

		id, err := deliver(p, ja, replaces, os.Getenv)
		if err != nil {
			log.debugf("notification not shown: %v", err)
		} else {
			log.debugf("notification shown (%s PIN, %d tries left)", p.key, p.left)
			n.mu.Lock()
			n.lastID = id
			n.mu.Unlock()
		}
	}
}

// wait returns when every posted notice was delivered or given up, or
// after max, whichever comes first.
func (n *notifier) wait(max time.Duration) {
	n.mu.Lock()
	idle := n.idle
	n.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// errNoSessionBus means the process has no session bus to send to (a
// service, a login over ssh without one).
var errNoSessionBus = errors.New("no session D-Bus (DBUS_SESSION_BUS_ADDRESS unset and no $XDG_RUNTIME_DIR/bus)")

// deliver sends one notification over a connection of its own to the
// session bus and returns its id. The connection is closed when the
// timeout passes, which ends a call left unanswered.
func deliver(p pinNotice, ja bool, replaces uint32, getenv func(string) string) (uint32, error) {
	addr := sessionBusAddress(getenv)
	if addr == "" {
		return 0, errNoSessionBus
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("cannot connect to the session bus: %w", err)
	}
	defer conn.Close()
	summary, body, urgency := p.text(ja)
	icon := "dialog-warning"
	if urgency == urgencyCritical {
		icon = "dialog-error"
	}
	hints := map[string]dbus.Variant{"urgency": dbus.MakeVariant(urgency)}
	var id uint32
	err = conn.Object(NotifyBusName, NotifyPath).CallWithContext(ctx, notifyMethod, 0,
		NotifyApp, replaces, icon, summary, body, []string{}, hints, int32(-1)).Store(&id)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", notifyMethod, err)
	}
	return id, nil
}
