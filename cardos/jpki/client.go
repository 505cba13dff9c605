package jpki

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// applet is what the client believes the card has selected.
type applet int

const (
	appletUnknown applet = iota // after NewClient, Forget or a failure
	appletJPKI                  // the JPKI AP
	appletOther                 // another applet (after Logout)
)

// maxGetResponse bounds the GET RESPONSE loop of one command so that a card
// answering 61xx forever cannot hang the client.
const maxGetResponse = 256

// Client talks to the JPKI applet over a cardos.Transport: it builds the
// APDUs and reads the answers, nothing more. It has one owner (the card
// layer, or a test) and is not safe for concurrent use; it opens no
// transaction of its own: its owner holds one (Begin/End) around every
// conversation, so that a multi-APDU operation is atomic on the card.
//
// The card is shared: between two transactions any other program may
// select another applet or file, or drop the verified PINs, and PC/SC
// does not say so. The client therefore trusts what it selected only
// inside the transaction that selected it: Begin and End forget the
// selection, and outside a transaction every command is preceded by the
// SELECTs it depends on.
type Client struct {
	t     cardos.Transport
	apdus atomic.Uint64

	inTx   bool   // between a successful Begin and End
	applet applet // what this transaction selected
	ef     uint16 // selected EF inside the JPKI AP; 0 = unknown
}

// NewClient returns a client that sends its commands over t. It assumes
// nothing about the card's current selection.
func NewClient(t cardos.Transport) *Client {
	return &Client{t: t}
}

// Begin starts an exclusive transaction on the transport (see
// cardos.Transport.Begin) and forgets every earlier selection: the first
// command of the transaction selects the applet and file again. Like
// Transport.Begin it returns an error wrapping cardos.ErrCardReset when
// the card was reset since; the transaction is then held and End must be
// called.
func (c *Client) Begin() error {
	c.forget()
	err := c.t.Begin()
	c.inTx = err == nil || isReset(err)
	return err
}

// End ends the transaction (resetting the card with reset, which drops
// every verified PIN) and forgets the selection: once the transaction is
// over, another program may change it.
func (c *Client) End(reset bool) error {
	c.inTx = false
	c.forget()
	return c.t.End(reset)
}

// Transport returns the transport the client sends its commands over.
func (c *Client) Transport() cardos.Transport { return c.t }

// APDUs returns the number of command APDUs this client has sent,
// GET RESPONSE and retried commands included.
func (c *Client) APDUs() uint64 { return c.apdus.Load() }

// Forget drops what the client knows about the card's selected applet and
// file within the current transaction. Call it after the transport
// reported cardos.ErrCardReset; the next operation selects the applet
// again.
func (c *Client) Forget() {
	c.forget()
}

func (c *Client) forget() {
	c.applet = appletUnknown
	c.ef = 0
}

// Select selects the JPKI applet unless this transaction already did. It
// returns cardos.ErrNotJPKI when the card has no such applet.
func (c *Client) Select() error {
	return c.selectJPKI()
}

func (c *Client) selectJPKI() error {
	if c.inTx && c.applet == appletJPKI {
		return nil
	}
	r, err := c.selectAID(AID, "SELECT JPKI AP")
	if err != nil {
		return err
	}
	if r.SW != apdu.SWOK {
		ae := &apdu.Error{SW: r.SW, Cmd: "SELECT JPKI AP"}
		if notJPKI(r.SW) {
			return fmt.Errorf("%w: %w", cardos.ErrNotJPKI, ae)
		}
		return fmt.Errorf("jpki: the card refused to select the JPKI applet, try again: %w", ae)
	}
	c.applet = appletJPKI
	return nil
}

// selectAID sends SELECT by DF name without FCI (00 A4 04 0C). On success
// the client's file state is reset; the caller records the applet.
func (c *Client) selectAID(aid []byte, op string) (apdu.Response, error) {
	c.applet = appletUnknown
	c.ef = 0
	return c.transmit(apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSSelect, P1: apdu.SelectByDFName, P2: apdu.SelectNoFCI, Data: aid}, op)
}

// selectEF selects an EF of the JPKI AP (00 A4 02 0C 02 FID), selecting the
// applet first, and skips either only when this transaction selected it.
func (c *Client) selectEF(fid uint16) error {
	if err := c.selectJPKI(); err != nil {
		return err
	}
	if c.inTx && c.ef == fid {
		return nil
	}
	op := fmt.Sprintf("SELECT EF %04X", fid)
	c.ef = 0
	r, err := c.transmit(apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSSelect, P1: apdu.SelectEFUnderDF, P2: apdu.SelectNoFCI, Data: []byte{byte(fid >> 8), byte(fid)}}, op)
	if err != nil {
		return err
	}
	if r.SW != apdu.SWOK {
		return swError(op, r.SW)
	}
	c.ef = fid
	return nil
}

// transmit sends cmd and returns the card's final response. It follows
// 61xx with GET RESPONSE (concatenating the data) and answers 6Cxx by
// resending a command that expects data with the corrected Le, once.
// Transport failures make the client forget its selection state and are
// returned wrapped; so are answers too short to hold a status word. op
// names the command in errors and must not contain secrets.
func (c *Client) transmit(cmd apdu.Command, op string) (apdu.Response, error) {
	r, err := c.exchange(cmd, op)
	if err != nil {
		return r, err
	}
	if r.SW.SW1() == 0x6C && cmd.Le > 0 {
		cmd.Le = int(r.SW.SW2())
		if cmd.Le == 0 {
			cmd.Le = 256
		}
		if r, err = c.exchange(cmd, op); err != nil {
			return r, err
		}
	}
	if r.SW.SW1() != 0x61 {
		return r, nil
	}
	data := append([]byte(nil), r.Data...)
	for i := 0; r.SW.SW1() == 0x61; i++ {
		if i == maxGetResponse {
			return apdu.Response{}, commError("%s: card keeps answering 61xx", op)
		}
		le := int(r.SW.SW2())
		if le == 0 {
			le = 256
		}
		if r, err = c.exchange(apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSGetResponse, Le: le}, op+" (GET RESPONSE)"); err != nil {
			return r, err
		}
		data = append(data, r.Data...)
	}
	r.Data = data
	return r, nil
}

// exchange sends one command APDU and parses the response.
func (c *Client) exchange(cmd apdu.Command, op string) (apdu.Response, error) {
	b, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, fmt.Errorf("jpki: %s: %w", op, err)
	}
	c.apdus.Add(1)
	raw, err := c.t.Transmit(b)
	if err != nil {
		c.forget()
		return apdu.Response{}, fmt.Errorf("jpki: %s: %w", op, err)
	}
	r, err := apdu.ParseResponse(raw)
	if err != nil {
		c.forget()
		return apdu.Response{}, fmt.Errorf("jpki: %s: %w: %w", op, err, cardos.ErrCommFailure)
	}
	if cmd.Le > 0 && len(r.Data) > cmd.Le {
		return apdu.Response{}, commError("%s: card answered %d bytes, asked for at most %d", op, len(r.Data), cmd.Le)
	}
	return r, nil
}

// isReset reports whether err says the card was reset.
func isReset(err error) bool { return errors.Is(err, cardos.ErrCardReset) }
