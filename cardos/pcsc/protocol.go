package pcsc

import "github.com/ebfe/scard"

// Protocol returns the transmission protocol PC/SC negotiated with the
// card ("T=0", "T=1", or "" when unknown), for diagnose reports.
func (c *Conn) Protocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.card.Status()
	if err != nil {
		return ""
	}
	switch st.ActiveProtocol {
	case scard.ProtocolT0:
		return "T=0"
	case scard.ProtocolT1:
		return "T=1"
	}
	return ""
}
