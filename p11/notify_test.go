package p11

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// shown is one Notify call the fake notification server received.
type shown struct {
	App, Summary, Body string
	Replaces           uint32
	Urgency            byte
}

// notifyServer is a fake org.freedesktop.Notifications that records
// every notification.
type notifyServer struct {
	mu  sync.Mutex
	got []shown
	// hold, when not nil, keeps each Notify from answering until it is
	// closed; held is set if 30 s passed first (a test's failure).
	hold chan struct{}
	held bool
}

// Notify is the method of the Desktop Notifications interface.
func (s *notifyServer) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-time.After(30 * time.Second):
			s.mu.Lock()
			s.held = true
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var u byte
	if v, ok := hints["urgency"]; ok {
		u, _ = v.Value().(byte)
	}
	s.got = append(s.got, shown{App: app, Summary: summary, Body: body, Replaces: replaces, Urgency: u})
	return uint32(len(s.got)), nil
}

func (s *notifyServer) shown() []shown {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]shown(nil), s.got...)
}

// privateBus starts a session bus of the test's own (dbus-daemon; the
// Debian package dbus-daemon, which test/install-deps.sh installs) with
// a fake notification server on it, and points DBUS_SESSION_BUS_ADDRESS
// at it.
func privateBus(t *testing.T, hold chan struct{}) *notifyServer {
	t.Helper()
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "dbus-daemon is needed: run test/install-deps.sh")
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	addr = strings.TrimSpace(addr)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)

	conn, err := dbus.Connect(addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	srv := &notifyServer{hold: hold}
	require.NoError(t, conn.Export(srv, NotifyPath, NotifyInterface))
	reply, err := conn.RequestName(NotifyBusName, dbus.NameFlagDoNotQueue)
	require.NoError(t, err)
	require.Equal(t, dbus.RequestNameReplyPrimaryOwner, reply)
	return srv
}

// A wrong PIN that reached the card, the last try and a locked PIN are
// each told in a desktop notification, delivered by the time
// C_Finalize returns; a right PIN, a malformed one (never sent to the
// card) and notifications = false give none. No notification holds a
// PIN or anything of the holder's.
func TestPINNotifications(t *testing.T) {
	const wrongAuth, wrongSign = "9999", "WRONG9"
	type want struct {
		urgency byte
		has     []string // in summary or body
	}
	tests := []struct {
		name string
		card string // genCard's kind; "" is "default"
		off  bool
		lang string
		sign bool
		// pins are tried in turn with C_Login (auth or sign token);
		// "set:" tries C_SetPIN with that as the current PIN.
		pins []string
		want []want
	}{
		{name: "right PIN", pins: []string{sim.DefaultAuthPIN}},
		{name: "malformed PIN, not sent to the card", pins: []string{"12a4", "123"}},
		{name: "wrong PIN, 2 tries left", pins: []string{wrongAuth},
			want: []want{{urgencyNormal, []string{"My Number Card: wrong authentication PIN", "2 tries left; the right one gives back every try."}}}},
		{name: "last try", pins: []string{wrongAuth, wrongAuth},
			want: []want{{urgencyNormal, []string{"2 tries left"}}, {urgencyCritical, []string{"My Number Card: last try for the authentication PIN", "one more wrong try locks it", "If you are not sure of it, do not try again."}}}},
		{name: "locked, then the right PIN on the locked card", pins: []string{wrongAuth, wrongAuth, wrongAuth, sim.DefaultAuthPIN},
			want: []want{{urgencyNormal, []string{"2 tries left"}}, {urgencyCritical, []string{"last try"}}, {urgencyCritical, []string{"My Number Card: the authentication PIN is locked", "Only your municipal office (市区町村の窓口) can reset it: take the card there."}}, {urgencyCritical, []string{"the authentication PIN is locked"}}}},
		{name: "sign password, 4 tries left", sign: true, pins: []string{wrongSign},
			want: []want{{urgencyNormal, []string{"My Number Card: wrong signature password", "4 tries left"}}}},
		{name: "C_SetPIN with a wrong current PIN", pins: []string{"set:" + wrongAuth},
			want: []want{{urgencyNormal, []string{"2 tries left"}}}},
		{name: "Japanese locale, last try", lang: "ja_JP.UTF-8", pins: []string{wrongAuth, wrongAuth},
			want: []want{{urgencyNormal, []string{"残り2回"}}, {urgencyCritical, []string{"残り回数は1回"}}}},
		{name: "face-authentication card (no PIN set)", card: "face", pins: []string{sim.DefaultAuthPIN},
			want: []want{{urgencyCritical, []string{"face-authentication card"}}}},
		{name: "notifications = false", off: true, pins: []string{wrongAuth, wrongAuth, wrongAuth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := privateBus(t, nil)
			t.Setenv("LC_ALL", tt.lang)
			t.Setenv("LC_MESSAGES", "")
			t.Setenv("LANG", "C.UTF-8")
			cfg := DefaultConfig()
			cfg.NoNotifications = tt.off
			kind := tt.card
			if kind == "" {
				kind = "default"
			}
			f := newFixtureCard(t, &cfg, genCard(t, kind))
			auth, sign := f.slots()
			slot := auth
			if tt.sign {
				slot = sign
			}
			s := f.open1(slot, true)
			newPIN := "4321"
			for _, pin := range tt.pins {
				if old, ok := strings.CutPrefix(pin, "set:"); ok {
					assert.Error(t, f.m.SetPIN(s, []byte(old), []byte(newPIN)))
					continue
				}
				f.m.Login(s, ck.CKU_USER, []byte(pin))
			}
			require.NoError(t, f.m.Finalize())

			got := srv.shown()
			require.Len(t, got, len(tt.want), "%+v", got)
			p := f.card.Profile()
			for i, w := range tt.want {
				text := got[i].Summary + "\n" + got[i].Body
				assert.Equal(t, NotifyApp, got[i].App)
				assert.Equal(t, w.urgency, got[i].Urgency, text)
				for _, h := range w.has {
					assert.Contains(t, text, h)
				}
				for _, secret := range []string{wrongAuth, wrongSign, newPIN, sim.DefaultAuthPIN, sim.DefaultSignPIN, p.Name, p.Address, p.BirthDate} {
					assert.NotContains(t, text, secret)
				}
				if i > 0 {
					assert.Equal(t, uint32(i), got[i].Replaces, "each notification replaces the one before")
				}
			}
		})
	}
}

// Without a session bus a notification is nothing but a debug line, and
// the PKCS#11 call gives its usual answer.
func TestPINNotificationNoBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	logFile := t.TempDir() + "/log"
	cfg := DefaultConfig()
	cfg.LogLevel, cfg.LogFile = LogDebug, logFile
	f := newFixtureConfig(t, &cfg)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, []byte("9999"))))
	require.NoError(t, f.m.Finalize())
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Contains(t, string(b), "notification not shown: "+errNoSessionBus.Error())
}

// A notification service that does not answer delays neither the
// C_Login that sent the notification nor the next one: delivery runs
// outside the call and outside every card lock. (The module's own
// timeout is lifted, so that only the service's answer could end a
// delivery that blocked the call.)
func TestPINNotificationDoesNotBlock(t *testing.T) {
	defer func(d time.Duration) { notifyTimeout = d }(notifyTimeout)
	notifyTimeout = time.Hour
	hold := make(chan struct{})
	srv := privateBus(t, hold)
	cfg := DefaultConfig()
	f := newFixtureConfig(t, &cfg)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, []byte("9999"))))
	f.login(s, sim.DefaultAuthPIN) // the card is free while the notification waits
	close(hold)
	require.NoError(t, f.m.Finalize())
	srv.mu.Lock()
	held := srv.held
	srv.mu.Unlock()
	assert.False(t, held, "the logins waited for the notification service")
	assert.Len(t, srv.shown(), 1)
}
