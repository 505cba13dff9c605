package sim

import (
	"net"
	"syscall"
)

// quickAck asks Linux to acknowledge the data just read at once
// (TCP_QUICKACK, which the kernel clears again after a while, so it is set
// after every read). vpcd writes a command's length and its bytes in two
// send() calls; with Nagle on vpcd's side and delayed ACKs on ours, the
// second half waited ~40 ms for our ACK, i.e. every APDU took ~40 ms.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
