package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServe runs SMTP sessions against serve: the replies, and the message
// as stored (dot-stuffing undone, RFC 5321 section 4.5.2).
func TestServe(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string // client lines, each answered by one reply line (EHLO: two)
		replies []string // reply codes, in order, after the greeting
		stored  string
		from    string
		to      []string
	}{
		{"one message", []string{"EHLO x", "MAIL FROM:<a@x>", "RCPT TO:<b@y>", "DATA", "Subject: s", "", "..dot", "text", ".", "QUIT"},
			[]string{"250", "250", "250", "354", "250", "221"}, "Subject: s\r\n\r\n.dot\r\ntext\r\n", "<a@x>", []string{"<b@y>"}},
		{"DATA before RCPT is refused", []string{"HELO x", "MAIL FROM:<a@x>", "DATA", "QUIT"},
			[]string{"250", "250", "503", "221"}, "", "", nil},
		{"unknown verbs", []string{"VRFY b", "QUIT"}, []string{"502", "221"}, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			var stored, from string
			var to []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				serve(server, func(msg []byte, f string, rcpt []string) error {
					stored, from, to = string(msg), f, rcpt
					return nil
				})
			}()
			r := bufio.NewReader(client)
			var codes []string
			read := func() string {
				l, err := r.ReadString('\n')
				require.NoError(t, err)
				return l
			}
			require.True(t, strings.HasPrefix(read(), "220 "))
			go func() {
				for _, l := range tc.lines {
					fmt.Fprintf(client, "%s\r\n", l)
				}
			}()
			for len(codes) < len(tc.replies) {
				l := read()
				if l[3] == ' ' { // the last line of a reply
					codes = append(codes, l[:3])
				}
			}
			<-done
			assert.Equal(t, tc.replies, codes)
			assert.Equal(t, tc.stored, stored)
			assert.Equal(t, tc.from, from)
			assert.Equal(t, tc.to, to)
		})
	}
}
