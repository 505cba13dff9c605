package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadReportsScriptErrors checks that login.load sees the error of the
// page script: a Marionette command error is retried and named in the
// timeout message, any other error ends the load at once.
func TestLoadReportsScriptErrors(t *testing.T) {
	tests := []struct {
		name    string
		errObj  any // the ExecuteScript error object, or nil
		result  any // the ExecuteScript result
		wantErr string
	}{
		{
			name:    "command error retried until the deadline, then named",
			errObj:  map[string]any{"error": "no such window", "message": "window closed"},
			wantErr: "last Marionette error: marionette WebDriver:ExecuteScript: no such window: window closed",
		},
		{
			name:    "undecodable page state ends the load",
			result:  map[string]any{"value": "not an object"},
			wantErr: "page: json: cannot unmarshal",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			fakeFirefox(t, server, func(name string, _ map[string]any) (any, any, bool) {
				if name == "WebDriver:ExecuteScript" {
					return tc.errObj, tc.result, false
				}
				return nil, map[string]any{}, false
			})
			m, err := newMarionette(client, time.Second)
			require.NoError(t, err)
			defer m.Close()
			log := filepath.Join(t.TempDir(), "firefox.log")
			require.NoError(t, os.WriteFile(log, nil, 0o600))
			const limit = time.Second
			l := &login{m: m, token: "T", typed: 1, pins: []string{"0000"}, prompts: &promptLog{path: log}, deadline: time.Now().Add(limit), poll: 50 * time.Millisecond, callTimeout: 3 * time.Second}
			_, err = l.load("https://127.0.0.1/")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
