package main

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAlertPrompts checks how the Thunderbird run sees a dialog: from the
// list of open dialogs when the script runs, from the refusal and
// WebDriver:GetAlertText when the dialog belongs to the driver's window.
func TestAlertPrompts(t *testing.T) {
	const sign = "Please authenticate to the security device (My Number Card (Sign))."
	refused := map[string]any{"error": "unexpected alert open", "message": `Unexpected promptPassword dialog detected. Performed handler "ignore"`}
	tests := []struct {
		name      string
		script    any // the ExecuteScript error object, or nil
		list      []map[string]any
		alertErr  any
		alertText string
		want      Prompt
		found     bool
	}{
		{name: "no dialog", list: []map[string]any{}},
		{name: "a dialog of another window", list: []map[string]any{{"type": "promptPassword", "text": sign}},
			want: Prompt{Type: "promptPassword", Text: sign}, found: true},
		{name: "a dialog of the driver's window", script: refused, alertText: sign,
			want: Prompt{Type: "promptPassword", Text: sign}, found: true},
		{name: "closed before its text was read", script: refused, alertErr: map[string]any{"error": "no such alert", "message": ""}},
		{name: "another script error is no dialog", script: map[string]any{"error": "javascript error", "message": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			fakeFirefox(t, server, func(name string, _ map[string]any) (any, any, bool) {
				switch {
				case name == "WebDriver:ExecuteScript" && tc.script != nil:
					return tc.script, nil, false
				case name == "WebDriver:ExecuteScript":
					return nil, map[string]any{"value": tc.list}, false
				case name == "WebDriver:GetAlertText" && tc.alertErr != nil:
					return tc.alertErr, nil, false
				default:
					return nil, map[string]any{"value": tc.alertText}, false
				}
			})
			m, err := newMarionette(client, time.Second)
			require.NoError(t, err)
			defer m.Close()
			p, found, err := (&alertPrompts{m: m, timeout: time.Second}).next()
			require.NoError(t, err)
			assert.Equal(t, tc.found, found)
			p.At = time.Time{}
			assert.Equal(t, tc.want, p)
		})
	}
}
