// Command smtpsink is the mail server of test/suites/thunderbird.sh: a
// minimal SMTP receiver (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
// QUIT; no authentication, no TLS) on a loopback address. It writes each
// message it accepts, with dot-stuffing undone, to DIR/N.eml (N from 1) and
// logs the envelope to standard output.
//
//	smtpsink -listen 127.0.0.1:PORT -dir DIR
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

func main() {
	addr := flag.String("listen", "", "loopback address to listen on, 127.0.0.1:PORT")
	dir := flag.String("dir", "", "directory receiving the messages")
	flag.Parse()
	if !strings.HasPrefix(*addr, "127.0.0.1:") || *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	var mu sync.Mutex
	n := 0
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(conn, func(msg []byte, from string, to []string) error {
			mu.Lock()
			n++
			name := filepath.Join(*dir, fmt.Sprintf("%d.eml", n))
			mu.Unlock()
			fmt.Printf("message %s: from %s to %s, %d bytes\n", name, from, strings.Join(to, ","), len(msg))
			return os.WriteFile(name, msg, 0o600)
		})
	}
}

// serve speaks SMTP on one connection; save stores a message.
func serve(conn net.Conn, save func(msg []byte, from string, to []string) error) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func(s string) { fmt.Fprintf(conn, "%s\r\n", s) }
	reply("220 127.0.0.1 smtpsink")
	var from string
	var to []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case verb == "EHLO":
			reply("250-127.0.0.1")
			reply("250 8BITMIME")
		case verb == "HELO", verb == "NOOP":
			reply("250 OK")
		case verb == "RSET":
			from, to = "", nil
			reply("250 OK")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			from, to = line[len("MAIL FROM:"):], nil
			reply("250 OK")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			to = append(to, line[len("RCPT TO:"):])
			reply("250 OK")
		case verb == "DATA":
			if from == "" || len(to) == 0 {
				reply("503 MAIL and RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			if err := save([]byte(msg.String()), from, to); err != nil {
				reply("451 " + err.Error())
			} else {
				reply("250 OK")
			}
			from, to = "", nil
		case verb == "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}
