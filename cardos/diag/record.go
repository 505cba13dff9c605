// Package diag records what a program said to a card, for bug reports
// about cards and readers nobody on the project has: every APDU as its
// header, lengths, status word and timing, and never its data (no PIN,
// no signature input, nothing of the signature certificate). Only the
// first bytes of the public authentication certificate and its CA may be
// kept, when the caller asks (IncludePublic).
//
// A Report (report.go) is what `myna-pkcs11 diagnose` writes;
// Report.Behaviour turns one back into simulator settings
// (`myna-sim --profile`).
package diag

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// Public identifiers the recorder understands (cardos/jpki/FACTS.md §1,
// §2), as the card layer's client defines them.
var (
	jpkiAID = jpki.AID
	// jpkiAIDHex is jpkiAID as an APDU.Target spells it.
	jpkiAIDHex = strings.ToUpper(hex.EncodeToString(jpkiAID))

	efSignCert = certEF(cardos.SignCert)
	efAuthCert = certEF(cardos.AuthCert)
	efAuthCA   = certEF(cardos.AuthCACert)
)

// certEF is the FID of certificate id.
func certEF(id cardos.CertID) uint16 {
	fid, err := jpki.CertEF(id)
	if err != nil {
		panic(err)
	}
	return fid
}

const (
	// publicHeaderLen is how many bytes of a public certificate a report
	// may keep: the two DER headers (30 82 LL LL 30 82 LL LL), which say
	// how the card lays out the EF, and nothing that identifies anyone.
	publicHeaderLen = 8
)

// APDU is one command and its answer, without data bytes.
type APDU struct {
	// Seq numbers the commands from 1.
	Seq int `json:"seq"`
	// Reader is the reader the command went to.
	Reader string `json:"reader"`
	// AtMS is when the command was sent, in ms after the recording began;
	// DurMS how long the answer took.
	AtMS  float64 `json:"at_ms"`
	DurMS float64 `json:"dur_ms"`
	// Header is CLA INS P1 P2 in hex ("00 A4 04 0C").
	Header string `json:"header"`
	// Command names the command ("SELECT AID", "VERIFY", "tries query"...).
	Command string `json:"command"`
	// Target is the public identifier a SELECT names: an AID, or an EF
	// number. Empty for other commands.
	Target string `json:"target,omitempty"`
	// Lc is the length of the command data; Le the expected length (-1
	// absent, 256 for 00). Withheld (-1) for reads of the signature
	// certificate, whose length says something about the holder.
	Lc int `json:"lc"`
	Le int `json:"le"`
	// RespLen is the length of the response data (-1 withheld).
	RespLen int `json:"resp_len"`
	// SW is the status word in hex ("9000"), empty when the transport
	// failed.
	SW string `json:"sw,omitempty"`
	// Err is the transport error, if any.
	Err string `json:"error,omitempty"`
	// Data is the hex of the first bytes of a public certificate (only with
	// IncludePublic).
	Data string `json:"data,omitempty"`
}

// Event is a transaction boundary or a connection event.
type Event struct {
	// AfterSeq is the number of APDUs sent before it.
	AfterSeq int    `json:"after_seq"`
	Reader   string `json:"reader"`
	// What is "connect", "begin", "end", "end+reset", "close".
	What string `json:"what"`
	Err  string `json:"error,omitempty"`
}

// Recorder collects the APDUs of every Transport its Context opens.
type Recorder struct {
	// IncludePublic keeps the first bytes of the public authentication
	// certificate and its CA.
	IncludePublic bool

	mu     sync.Mutex
	start  time.Time
	apdus  []APDU
	events []Event
}

// NewRecorder starts a recording.
func NewRecorder(includePublic bool) *Recorder {
	return &Recorder{IncludePublic: includePublic, start: time.Now()}
}

// APDUs returns the recorded commands.
func (r *Recorder) APDUs() []APDU {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]APDU(nil), r.apdus...)
}

// Events returns the recorded transaction and connection events.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Len returns the number of APDUs recorded so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.apdus)
}

func (r *Recorder) event(reader, what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := Event{AfterSeq: len(r.apdus), Reader: reader, What: what}
	if err != nil {
		e.Err = err.Error()
	}
	r.events = append(r.events, e)
}

// Context wraps ctx so that every Transport it connects is recorded.
func (r *Recorder) Context(ctx cardos.Context) cardos.Context {
	return &recContext{Context: ctx, r: r}
}

type recContext struct {
	cardos.Context
	r *Recorder
}

func (c *recContext) Connect(reader string) (cardos.Transport, error) {
	t, err := c.Context.Connect(reader)
	c.r.event(reader, "connect", err)
	if err != nil {
		return nil, err
	}
	return &recTransport{Transport: t, r: c.r, reader: reader}, nil
}

// recTransport records one connection. It follows the selection the
// commands make (applet, EF) to know which answers are public.
type recTransport struct {
	cardos.Transport
	r      *Recorder
	reader string

	mu   sync.Mutex
	jpki bool   // the JPKI AP was the last applet selected
	ef   uint16 // the last EF selected in it
}

// Protocol passes on the transport's protocol when it knows it.
func (t *recTransport) Protocol() string {
	if p, ok := t.Transport.(interface{ Protocol() string }); ok {
		return p.Protocol()
	}
	return ""
}

func (t *recTransport) Begin() error {
	err := t.Transport.Begin()
	t.r.event(t.reader, "begin", err)
	return err
}

func (t *recTransport) End(reset bool) error {
	err := t.Transport.End(reset)
	what := "end"
	if reset {
		what = "end+reset"
	}
	t.r.event(t.reader, what, err)
	return err
}

func (t *recTransport) Close() error {
	err := t.Transport.Close()
	t.r.event(t.reader, "close", err)
	return err
}

func (t *recTransport) Transmit(raw []byte) ([]byte, error) {
	at := time.Since(t.r.start)
	resp, err := t.Transport.Transmit(raw)
	dur := time.Since(t.r.start) - at
	t.mu.Lock()
	a := t.describe(raw, resp, err)
	t.mu.Unlock()
	a.Reader = t.reader
	a.AtMS, a.DurMS = ms(at), ms(dur)
	t.r.mu.Lock()
	a.Seq = len(t.r.apdus) + 1
	t.r.apdus = append(t.r.apdus, a)
	t.r.mu.Unlock()
	return resp, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// describe turns one exchange into an APDU record. t.mu is held.
func (t *recTransport) describe(raw, resp []byte, err error) APDU {
	a := APDU{Lc: 0, Le: -1, RespLen: -1}
	if len(raw) >= 4 {
		a.Header = fmt.Sprintf("%02X %02X %02X %02X", raw[0], raw[1], raw[2], raw[3])
	} else {
		a.Header = strings.ToUpper(hex.EncodeToString(raw))
	}
	cmd, perr := apdu.Parse(raw)
	if perr != nil {
		a.Command = "malformed"
	} else {
		a.Lc = len(cmd.Data)
		if cmd.Le > 0 {
			a.Le = cmd.Le
		}
		a.Command = name(cmd)
	}
	if err != nil {
		a.Err = err.Error()
	}
	var data []byte
	if len(resp) >= 2 {
		n := len(resp) - 2
		a.SW = fmt.Sprintf("%02X%02X", resp[n], resp[n+1])
		a.RespLen = n
		data = resp[:n]
	}
	if perr != nil {
		return a
	}
	ok := a.SW == "9000"
	switch {
	case cmd.INS == apdu.INSSelect && cmd.P1 == apdu.SelectByDFName:
		a.Target = strings.ToUpper(hex.EncodeToString(cmd.Data))
		if ok {
			t.jpki, t.ef = string(cmd.Data) == string(jpkiAID), 0
		}
	case cmd.INS == apdu.INSSelect && cmd.P1 == apdu.SelectEFUnderDF && len(cmd.Data) == 2:
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		a.Target = fmt.Sprintf("%04X", fid)
		if ok {
			t.ef = fid
		}
	case cmd.INS == apdu.INSReadBinary && t.jpki && t.ef == efSignCert:
		// Nothing of the signature certificate: not even how long it is.
		a.Le, a.RespLen = -1, -1
	case cmd.INS == apdu.INSReadBinary && t.jpki && (t.ef == efAuthCert || t.ef == efAuthCA) &&
		t.r.IncludePublic && cmd.P1 == 0 && cmd.P2 == 0 && ok:
		a.Data = strings.ToUpper(hex.EncodeToString(data[:min(len(data), publicHeaderLen)]))
	}
	return a
}

// name says what a command is, for the report.
func name(c apdu.Command) string {
	switch {
	case c.CLA == apdu.CLAISO && c.INS == apdu.INSSelect && c.P1 == apdu.SelectByDFName:
		return "SELECT AID"
	case c.CLA == apdu.CLAISO && c.INS == apdu.INSSelect && c.P1 == apdu.SelectEFUnderDF:
		return "SELECT EF"
	case c.CLA == apdu.CLAISO && c.INS == apdu.INSSelect:
		return "SELECT"
	case c.CLA == apdu.CLAISO && c.INS == apdu.INSReadBinary:
		return "READ BINARY"
	case c.CLA == apdu.CLAISO && c.INS == apdu.INSVerify && len(c.Data) == 0:
		return "tries query"
	case c.CLA == apdu.CLAISO && c.INS == apdu.INSVerify:
		return "VERIFY"
	case c.CLA == 0x00 && c.INS == 0x24:
		return "CHANGE REFERENCE DATA"
	case c.CLA == 0x80 && c.INS == 0x2A:
		return "SIGN"
	}
	return fmt.Sprintf("INS %02X", c.INS)
}
