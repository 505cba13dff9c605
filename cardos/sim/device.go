package sim

import (
	"fmt"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// Device is what answers as the JPKI applet in the reader: the plastic
// card, or a smartphone credential (スマホ用電子証明書) held to a PC/SC NFC
// reader, which serves the same JPKI AID and protocol
// (cardos/jpki/FACTS.md §13). The facts that set a phone apart:
//
//   - EF 0006 names it: JPKIAPGPSETOKEN on Android (jpki/myna, Go and
//     Rust versions), JPKIAPIOSTOKEN on iPhone (soltia48/myna-card) [S];
//   - Android's authentication certificate (EF 000A) is readable only
//     after the auth PIN: jpki/myna verifies the PIN before reading it
//     for JPKIAPGPSETOKEN (Go commit f68cefd; Rust src/cli.rs
//     run_jpki_cert), https://github.com/jpki/myna;
//   - the iPhone knows an end command 80 FC 00 00 (apdu.INSEnd) that
//     physical cards refuse with 67 00 (soltia48/myna-card) [S].
//
// Everything else about a phone is unknown and a switch in Quirks (the
// Phone* fields) whose default is the cautious plausible answer.
type Device int

const (
	// DeviceCard is the My Number Card (default).
	DeviceCard Device = iota
	// DeviceAndroid is the Android smartphone credential (since 2023).
	DeviceAndroid
	// DeviceIPhone is the iPhone smartphone credential (since 2025).
	DeviceIPhone
)

// Devices lists every device, for tests and flags.
var Devices = []Device{DeviceCard, DeviceAndroid, DeviceIPhone}

// String is the name ParseDevice reads: card, android or iphone.
func (d Device) String() string {
	switch d {
	case DeviceAndroid:
		return "android"
	case DeviceIPhone:
		return "iphone"
	}
	return "card"
}

// ParseDevice reads card, android or iphone ("" is the card).
func ParseDevice(s string) (Device, error) {
	if s == "" {
		return DeviceCard, nil
	}
	for _, d := range Devices {
		if d.String() == s {
			return d, nil
		}
	}
	return DeviceCard, fmt.Errorf("sim: device %q: want card, android or iphone", s)
}

// Phone reports whether d is a smartphone credential.
func (d Device) Phone() bool { return d == DeviceAndroid || d == DeviceIPhone }

// TokenName is the name in the first 32 bytes of EF 0006.
func (d Device) TokenName() string {
	switch d {
	case DeviceAndroid:
		return jpki.TokenAndroid
	case DeviceIPhone:
		return jpki.TokenIPhone
	}
	return jpki.TokenCard
}

// PhoneLatencyAPDU is a per-command latency for a phone held to a
// contactless reader, for myna-sim --device when --latency-apdu is not
// given. No published measurement exists: contactless exchanges are
// slower than the ≈12 ms of a contact read (cardos/jpki/FACTS.md §10.3),
// and this value only makes the slowness visible in tests [?].
const PhoneLatencyAPDU = 30 * time.Millisecond

// PhoneEnd says what the iPhone credential does with its end command
// (80 FC 00 00, answered 90 00); its effect is not published [?].
type PhoneEnd int

const (
	// EndKeeps (default): nothing changes; the applet stays selected
	// with its verified PINs.
	EndKeeps PhoneEnd = iota
	// EndForgets: the applet is left and its verified PINs forgotten.
	EndForgets
	// EndRemoves: the phone ends the NFC session: the credential leaves
	// the reader after answering (a removal).
	EndRemoves
)

// readNeeds is the PIN (1 auth, 2 sign) a READ BINARY of fid needs on
// this device, 0 for none.
func (c *Card) readNeeds(fid uint16) int {
	q, d := c.st.Quirks, c.opt.Device
	switch fid {
	case efSignCert:
		if d.Phone() && q.PhoneSignCertFree {
			return 0
		}
		return 2
	case efAuthCert:
		if d == DeviceAndroid || d == DeviceIPhone && !q.IPhoneAuthCertFree {
			return 1
		}
	case efAuthCA:
		if d.Phone() && q.PhoneCAsBehindPIN {
			return 1
		}
	case efSignCA:
		if d.Phone() && q.PhoneCAsBehindPIN {
			return 2
		}
	}
	return 0
}

// phoneRefusesApplet reports whether SELECT of app fails on this device:
// a phone may route only the JPKI AID to its credential
// (Quirks.PhoneRoutesAllAIDs).
func (c *Card) phoneRefusesApplet(app applet) bool {
	return c.opt.Device.Phone() && !c.st.Quirks.PhoneRoutesAllAIDs && app != appJPKI
}

// end answers the iPhone end command; other devices refuse it with 67 00
// as physical cards do (soltia48/myna-card) [S].
func (c *Card) end(cmd apdu.Command) []byte {
	if c.opt.Device != DeviceIPhone {
		return swBytes(apdu.SWWrongLength)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return swBytes(apdu.SWIncorrectP1P2)
	}
	switch c.st.Quirks.PhoneEnd {
	case EndForgets:
		c.clearSecurity()
		c.app, c.ef, c.efSelected = appNone, 0, false
	case EndRemoves:
		c.leaving = true
	}
	return swBytes(apdu.SWOK)
}
