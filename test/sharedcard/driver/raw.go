package main

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

// The raw client builds its APDUs by hand, as another program would, from
// the protocol facts the module defines once (cardos/jpki/ids.go,
// cardos/apdu; cardos/jpki/FACTS.md §1, §5, §8).
var (
	aidJPKI   = jpki.AID
	aidISD    = jpki.AIDISD
	aidTextAP = jpki.AIDTextAP

	efAuthKey  = ef(jpki.KeyEF(cardos.AuthKey))
	efAuthPIN  = ef(jpki.PINEF(cardos.AuthKey))
	efSignKey  = ef(jpki.KeyEF(cardos.SignKey))
	efSignPIN  = ef(jpki.PINEF(cardos.SignKey))
	efAuthCert = ef(jpki.CertEF(cardos.AuthCert))
)

const (
	swOK     = uint16(apdu.SWOK)
	swNoAuth = uint16(apdu.SWSecurityStatus)
)

// ef is the FID of a file the module's facts name.
func ef(fid uint16, err error) uint16 {
	if err != nil {
		panic(err)
	}
	return fid
}

// rawClient is a PC/SC program that talks APDUs to the card itself, as
// another card application on the machine would: it selects other applets
// and files and resets the card. Each operation runs in its own PC/SC
// transaction.
type rawClient struct {
	name   string
	reader string
	ctx    *scard.Context
	card   *scard.Card
}

// newRawClient connects (shared) to the card in reader.
func newRawClient(name, reader string) (*rawClient, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("%s: SCardEstablishContext: %w (is pcscd running?)", name, err)
	}
	r := &rawClient{name: name, reader: reader, ctx: ctx}
	if err := r.connect(); err != nil {
		_ = ctx.Release()
		return nil, err
	}
	return r, nil
}

func (r *rawClient) connect() error {
	card, err := r.ctx.Connect(r.reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		return fmt.Errorf("%s: SCardConnect(%q): %w", r.name, r.reader, err)
	}
	r.card = card
	return nil
}

// close disconnects without touching the card and releases the context.
func (r *rawClient) close() {
	if r.card != nil {
		_ = r.card.Disconnect(scard.LeaveCard)
	}
	_ = r.ctx.Release()
}

// inTx runs f inside one PC/SC transaction. When another program reset the
// card since this client's last command, PC/SC answers "reset" once: the
// client reconnects (leaving the card alone) and tries again.
func (r *rawClient) inTx(f func() error) error {
	for attempt := 0; ; attempt++ {
		err := r.card.BeginTransaction()
		if err == nil {
			err = f()
			if e := r.card.EndTransaction(scard.LeaveCard); err == nil && e != nil && !isReset(e) {
				err = fmt.Errorf("SCardEndTransaction: %w", e)
			}
		}
		if !isReset(err) || attempt == 2 {
			return err
		}
		if err := r.card.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.LeaveCard); err != nil {
			return fmt.Errorf("%s: SCardReconnect after a reset: %w", r.name, err)
		}
	}
}

func isReset(err error) bool {
	return errors.Is(err, scard.ErrResetCard)
}

// transmit sends one APDU and returns the data and status word.
func (r *rawClient) transmit(apdu []byte) ([]byte, uint16, error) {
	resp, err := r.card.Transmit(apdu)
	if err != nil {
		return nil, 0, err
	}
	if len(resp) < 2 {
		return nil, 0, fmt.Errorf("%s: answer of %d bytes to % X", r.name, len(resp), apdu[:4])
	}
	n := len(resp) - 2
	return resp[:n], uint16(resp[n])<<8 | uint16(resp[n+1]), nil
}

// selectAID sends SELECT by DF name, no FCI (00 A4 04 0C).
func (r *rawClient) selectAID(aid []byte) (uint16, error) {
	_, sw, err := r.transmit(append([]byte{apdu.CLAISO, apdu.INSSelect, 0x04, 0x0C, byte(len(aid))}, aid...))
	return sw, err
}

// selectEF sends SELECT EF under the current DF (00 A4 02 0C 02 FID).
func (r *rawClient) selectEF(fid uint16) (uint16, error) {
	_, sw, err := r.transmit([]byte{apdu.CLAISO, apdu.INSSelect, 0x02, 0x0C, 0x02, byte(fid >> 8), byte(fid)})
	return sw, err
}

// want checks a status word.
func want(what string, sw uint16, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if sw != swOK {
		return fmt.Errorf("%s: SW %04X", what, sw)
	}
	return nil
}

// selectApplet selects another applet than JPKI: the card drops every
// verified PIN.
func (r *rawClient) selectApplet(aid []byte, name string) error {
	return r.inTx(func() error {
		sw, err := r.selectAID(aid)
		return want("SELECT "+name, sw, err)
	})
}

// unverify selects the GP ISD, which drops every verified PIN, and then
// the JPKI AP again, which OpenSC's driver expects to find selected.
func (r *rawClient) unverify() error {
	return r.inTx(func() error {
		sw, err := r.selectAID(aidISD)
		if err := want("SELECT GP ISD", sw, err); err != nil {
			return err
		}
		sw, err = r.selectAID(aidJPKI)
		return want("SELECT JPKI AP", sw, err)
	})
}

// selectJPKIEF selects the JPKI AP and one of its EFs: the verified PINs
// stay, the card's current file changes.
func (r *rawClient) selectJPKIEF(fid uint16) error {
	return r.inTx(func() error {
		sw, err := r.selectAID(aidJPKI)
		if err := want("SELECT JPKI AP", sw, err); err != nil {
			return err
		}
		sw, err = r.selectEF(fid)
		return want(fmt.Sprintf("SELECT EF %04X", fid), sw, err)
	})
}

// reset resets the card: with SCardReconnect(SCARD_RESET_CARD), or by
// disconnecting with SCARD_RESET_CARD and connecting again.
func (r *rawClient) reset(byDisconnect bool) error {
	if !byDisconnect {
		if err := r.card.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.ResetCard); err != nil {
			return fmt.Errorf("SCardReconnect(SCARD_RESET_CARD): %w", err)
		}
		return nil
	}
	if err := r.card.Disconnect(scard.ResetCard); err != nil && !isReset(err) {
		return fmt.Errorf("SCardDisconnect(SCARD_RESET_CARD): %w", err)
	}
	r.card = nil
	return r.connect()
}

// probeSign asks the card for a signature with the key EF fid without any
// VERIFY (SELECT JPKI AP, SELECT EF, 80 2A 00 80 Lc DigestInfo 00). It
// reports whether the card signed (90 00); 69 82 means it refused.
func (r *rawClient) probeSign(fid uint16) (signed bool, err error) {
	return r.probe(fid, false)
}

// probeSignInPlace is probeSign leaving the card's current applet as it
// found it, so that the probe does not select the JPKI AP for a program
// that relies on the current applet (OpenSC's driver): it selects the key
// EF by FID first, and only when that fails (the JPKI AP is not the
// current applet) selects the JPKI AP, the EF, signs, and selects the GP
// ISD again (the only other applet selected in those scenarios: our
// module's leave).
func (r *rawClient) probeSignInPlace(fid uint16) (signed bool, err error) {
	return r.probe(fid, true)
}

func (r *rawClient) probe(fid uint16, inPlace bool) (signed bool, err error) {
	di := pkcs1.SHA256([]byte("PIN-less probe"))
	err = r.inTx(func() error {
		away := true // the JPKI AP is not the current applet
		if inPlace {
			sw, err := r.selectEF(fid)
			if err != nil {
				return fmt.Errorf("probe: SELECT EF %04X: %w", fid, err)
			}
			away = sw != swOK
		}
		if away {
			sw, err := r.selectAID(aidJPKI)
			if err := want("probe: SELECT JPKI AP", sw, err); err != nil {
				return err
			}
			sw, err = r.selectEF(fid)
			if err := want(fmt.Sprintf("probe: SELECT EF %04X", fid), sw, err); err != nil {
				return err
			}
		}
		cmd := append(append([]byte{apdu.CLAProprietary, apdu.INSComputeSignature, 0x00, 0x80, byte(len(di))}, di...), 0x00)
		_, sw, err := r.transmit(cmd)
		if err != nil {
			return fmt.Errorf("probe: SIGN: %w", err)
		}
		switch sw {
		case swOK:
			signed = true
		case swNoAuth:
		default:
			return fmt.Errorf("probe: SIGN: SW %04X (want 9000 or 6982)", sw)
		}
		if inPlace && away {
			sw, err = r.selectAID(aidISD)
			return want("probe: SELECT GP ISD again", sw, err)
		}
		return nil
	})
	return signed, err
}

// pinEF returns the PIN EF of a key.
func pinEF(tok string) uint16 {
	if tok == tokAuth {
		return efAuthPIN
	}
	return efSignPIN
}

// verifyPIN sends VERIFY with pin for tok's PIN (SELECT JPKI AP, SELECT
// PIN EF, 00 20 00 80) and returns the status word. Only the repair after
// a failed scenario uses it: the PIN is the card's own (never a guess).
func (r *rawClient) verifyPIN(tok, pin string) (sw uint16, err error) {
	err = r.inTx(func() error {
		s, err := r.selectAID(aidJPKI)
		if err := want("SELECT JPKI AP", s, err); err != nil {
			return err
		}
		s, err = r.selectEF(pinEF(tok))
		if err := want("SELECT PIN EF", s, err); err != nil {
			return err
		}
		_, sw, err = r.transmit(append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(pin))}, pin...))
		return err
	})
	return sw, err
}

// changePIN sends VERIFY old + CHANGE REFERENCE DATA new (00 24 01 80) in
// one transaction. Only the repair uses it.
func (r *rawClient) changePIN(tok, old, new string) error {
	return r.inTx(func() error {
		s, err := r.selectAID(aidJPKI)
		if err := want("SELECT JPKI AP", s, err); err != nil {
			return err
		}
		s, err = r.selectEF(pinEF(tok))
		if err := want("SELECT PIN EF", s, err); err != nil {
			return err
		}
		_, s, err = r.transmit(append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(old))}, old...))
		if err := want("VERIFY", s, err); err != nil {
			return err
		}
		_, s, err = r.transmit(append([]byte{0x00, 0x24, 0x01, 0x80, byte(len(new))}, new...))
		return want("CHANGE REFERENCE DATA", s, err)
	})
}
