package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeFirefox answers Marionette commands on the server end of a pipe:
// handler returns (error object or nil, result) per command; a nil handler
// result with skip=true sends nothing (a held command).
func fakeFirefox(t *testing.T, conn net.Conn, handler func(name string, params map[string]any) (errObj any, result any, skip bool)) {
	t.Helper()
	go func() {
		defer conn.Close()
		hello := `{"applicationType":"gecko","marionetteProtocol":3}`
		fmt.Fprintf(conn, "%d:%s", len(hello), hello)
		r := bufio.NewReader(conn)
		for {
			var msg []json.RawMessage
			if err := readMessage(r, &msg); err != nil {
				return
			}
			var id int
			var name string
			var params map[string]any
			_ = json.Unmarshal(msg[1], &id)
			_ = json.Unmarshal(msg[2], &name)
			_ = json.Unmarshal(msg[3], &params)
			e, res, skip := handler(name, params)
			if skip {
				continue
			}
			b, _ := json.Marshal([]any{1, id, e, res})
			fmt.Fprintf(conn, "%d:%s", len(b), b)
		}
	}()
}

func TestMarionetteCall(t *testing.T) {
	client, server := net.Pipe()
	fakeFirefox(t, server, func(name string, params map[string]any) (any, any, bool) {
		switch name {
		case "WebDriver:ExecuteScript":
			return nil, map[string]any{"value": map[string]any{"echo": params["script"]}}, false
		case "WebDriver:Hold":
			return nil, nil, true
		default:
			return map[string]any{"error": "unknown command", "message": name}, nil, false
		}
	})
	m, err := newMarionette(client, time.Second)
	require.NoError(t, err)
	defer m.Close()

	var out struct{ Echo string }
	require.NoError(t, m.Script("return 1", &out, time.Second))
	assert.Equal(t, "return 1", out.Echo)

	err = m.Call("WebDriver:Nope", nil, nil, time.Second)
	var ce *CommandError
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.Equal(t, "unknown command", ce.Code)

	// A command Firefox holds times out and leaves the connection usable.
	err = m.Call("WebDriver:Hold", nil, nil, 50*time.Millisecond)
	assert.ErrorIs(t, err, ErrTimeout)
	require.NoError(t, m.Script("again", &out, time.Second))
	assert.Equal(t, "again", out.Echo)

	// Start does not wait for the reply; the next call gets its own.
	require.NoError(t, m.Start("WebDriver:ExecuteScript", map[string]any{"script": "started"}))
	require.NoError(t, m.Script("after", &out, time.Second))
	assert.Equal(t, "after", out.Echo)
}

func TestMarionetteRejectsOtherProtocols(t *testing.T) {
	client, server := net.Pipe()
	go func() {
		hello := `{"applicationType":"gecko","marionetteProtocol":2}`
		fmt.Fprintf(server, "%d:%s", len(hello), hello)
	}()
	_, err := newMarionette(client, time.Second)
	assert.ErrorContains(t, err, "protocol 2")
}

func TestParsePrompts(t *testing.T) {
	log := "1795768018107\tMarionette\tTRACE\t[3] Prompt opened (type: \"promptPassword\", text: \"Please authenticate to the security device (My Number Card (Sign)).\")\n" +
		"1795768018880\tMarionette\tTRACE\t[1] Prompt closed (type: \"undefined\", accepted: \"undefined\")\n" +
		"noise\n" +
		"1795768018957\tMarionette\tTRACE\t[3] Prompt opened (type: \"promptPassword\", text: \"Please authenticate to the security device (My Number Card (Auth)).\")\n"
	ps := parsePrompts(log)
	require.Len(t, ps, 2)
	assert.Equal(t, Prompt{"promptPassword", "Please authenticate to the security device (My Number Card (Sign)).", time.UnixMilli(1795768018107)}, ps[0])
	assert.Equal(t, time.UnixMilli(1795768018957), ps[1].At)
	untimed := parsePrompts("[3] Prompt opened (type: \"alert\", text: \"hi\")\n")
	require.Len(t, untimed, 1)
	assert.True(t, untimed[0].At.IsZero(), "a line without a time stamp has no time")

	tests := []struct {
		p     Prompt
		label string
		want  bool
	}{
		{ps[1], "My Number Card (Auth)", true},
		{ps[0], "My Number Card (Auth)", false},
		{ps[0], "My Number Card (Sign)", true},
		{Prompt{Type: "promptPassword", Text: "Please enter the password for the PKCS#11 token My Number Card (Auth)."}, "My Number Card (Auth)", true},
		{Prompt{Type: "alert", Text: "My Number Card (Auth)"}, "My Number Card (Auth)", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.p.forToken(tt.label), "%+v / %q", tt.p, tt.label)
	}
}
