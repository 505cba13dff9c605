package p11

import (
	"os"
	"testing"
)

// TestMain hides the session bus of whoever runs the tests: a test that
// types a wrong PIN must not pop up a notification on a developer's
// desktop (TestPINNotifications starts a bus of its own).
func TestMain(m *testing.M) {
	os.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	os.Setenv("XDG_RUNTIME_DIR", "")
	os.Exit(m.Run())
}
