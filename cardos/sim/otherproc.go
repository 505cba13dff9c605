package sim

import (
	"crypto/subtle"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Commands to the applets beside the JPKI AP (applets.go, facedata.go).
// They follow the JPKI AP's rules where the sources say the card behaves
// alike (cardos/jpki/FACTS.md §5: 63Cx, 63C0 on the exhausting try, 6984 after;
// the empty VERIFY never spends a try; §9: each applet has its own
// security state, dropped when another applet is selected).

// swRecordNotFound answers READ RECORD of a record the EF does not have.
const swRecordNotFound apdu.SW = 0x6A83

// Commands sent to another applet are counted under this name in
// Stats.Selects.
var appletNames = map[applet]string{
	appISD: "isd", appJPKI: "jpki", appText: "text", appVisual: "visual", appCommon: "common", appJuki: "juki",
}

// inOtherApplet reports whether an applet other than the JPKI AP is
// current (the MF level after power-on is neither).
func (c *Card) inOtherApplet() bool {
	return c.app != appJPKI && c.app != appNone
}

// otherEFExists reports whether fid is selectable in the current
// (non-JPKI) applet: a key reference or a documented EF. The GP ISD has
// no EF (MYNA-CARD mf.rs: no EF 0001–001E under the card manager).
func (c *Card) otherEFExists(fid uint16) bool {
	if _, ok := lookupKeyRef(c.app, fid); ok {
		return true
	}
	_, ok := lookupOtherEF(c.app, fid)
	return ok
}

// otherOpened reports whether e may be read in the current session.
func (c *Card) otherOpened(e otherEF) bool {
	if len(e.opens) == 0 {
		return true
	}
	for _, k := range e.opens {
		if c.otherVerified[k] {
			return true
		}
	}
	return false
}

// otherReadable checks the current EF for READ BINARY/RECORD: no EF →
// 6986, a key reference or an EF of the other structure → 6981 (as the
// JPKI AP's internal EFs, MYNA-CARD mf.rs for 001E), not opened → 6982.
func (c *Card) otherReadable(record bool) (otherEF, apdu.SW) {
	if !c.efSelected {
		return otherEF{}, swNoCurrentEF
	}
	e, ok := lookupOtherEF(c.app, c.ef)
	if !ok || e.record != record {
		return otherEF{}, apdu.SWIncompatibleFile
	}
	if !c.otherOpened(e) {
		return otherEF{}, apdu.SWSecurityStatus
	}
	return e, apdu.SWOK
}

func (c *Card) otherReadBinary(cmd apdu.Command) []byte {
	offset := int(cmd.P1)<<8 | int(cmd.P2)
	if cmd.P1&0x80 != 0 { // SFI form (MYNA-CARD card.rs) [S]
		fid := uint16(cmd.P1 & 0x1F)
		if cmd.P1&0x60 != 0 || !c.otherEFExists(fid) {
			return swBytes(apdu.SWFileNotFound)
		}
		c.ef, c.efSelected = fid, true
		offset = int(cmd.P2)
	}
	if cmd.Le == 0 {
		return swBytes(apdu.SWWrongLength)
	}
	e, sw := c.otherReadable(false)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	data := c.other[otherKey{e.app, e.fid}]
	if offset >= len(data) {
		return swBytes(apdu.SWWrongP1P2)
	}
	return ok(data[offset:min(offset+cmd.Le, len(data))])
}

// readRecord answers READ RECORD P1=record, P2=04 (current EF) or
// P2=SFI<<3|04 (MYNA-RS unknown.rs sends 00 B2 01 0C for record 1 of SFI
// 1). Only common AP EF 0001 is record-structured; every other EF
// answers 6981.
func (c *Card) readRecord(cmd apdu.Command) []byte {
	if cmd.P2&0x07 != 0x04 {
		return swBytes(apdu.SWIncorrectP1P2)
	}
	if sfi := uint16(cmd.P2 >> 3); sfi != 0 {
		if !c.efExists(sfi) {
			return swBytes(apdu.SWFileNotFound)
		}
		c.ef, c.efSelected = sfi, true
	}
	if !c.inOtherApplet() {
		if !c.efSelected {
			return swBytes(swNoCurrentEF)
		}
		return swBytes(apdu.SWIncompatibleFile) // the JPKI AP's EFs are transparent
	}
	e, sw := c.otherReadable(true)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	if cmd.P1 != 0x01 { // one record only
		return swBytes(swRecordNotFound)
	}
	rec := c.other[otherKey{e.app, e.fid}]
	if cmd.Le > 0 && cmd.Le < len(rec) {
		rec = rec[:cmd.Le]
	}
	return ok(rec)
}

// otherKeyRef resolves the key reference of a VERIFY or CHANGE: P2=80 is
// the current EF, P2=80|SFI names it (MYNA-CARD verify_sfi) [S].
func (c *Card) otherKeyRef(p2 byte) (keyRef, apdu.SW) {
	fid := c.ef
	switch {
	case p2 == 0x80:
		if !c.efSelected {
			return keyRef{}, swNoCurrentEF
		}
	case p2 > 0x80 && p2 <= 0x9E:
		fid = uint16(p2 & 0x1F)
		if !c.otherEFExists(fid) {
			return keyRef{}, apdu.SWFileNotFound
		}
	default:
		return keyRef{}, apdu.SWIncorrectP1P2
	}
	k, found := lookupKeyRef(c.app, fid)
	if !found {
		return keyRef{}, apdu.SWIncompatibleFile
	}
	return k, apdu.SWOK
}

func (c *Card) otherVerify(cmd apdu.Command) []byte {
	if cmd.P1 != 0x00 {
		return swBytes(apdu.SWIncorrectP1P2)
	}
	k, sw := c.otherKeyRef(cmd.P2)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	// The retry query as JICSAP 6.4.9(5) (MYNA-CARD pin_retries).
	if sw, done := c.verifyWithoutCompare(c.st.otherTries(k), cmd.Data); done {
		return swBytes(sw)
	}
	var result apdu.SW
	err := c.mutateLocked(func(s *state) bool {
		tries := s.otherTries(k)
		if tries == 0 { // another process blocked it meanwhile
			result = apdu.SWRefDataBlocked
			return false
		}
		if subtle.ConstantTimeCompare([]byte(s.keyValue(k)), cmd.Data) == 1 {
			result = apdu.SWOK
			if tries == k.maxTries(s.Quirks) {
				return false
			}
			delete(s.Other.Tries, k.name)
			return true
		}
		s.Other.Tries[k.name] = tries - 1
		result = apdu.TriesLeftSW(tries - 1)
		return true
	})
	if err != nil {
		delete(c.otherVerified, k.name)
		return swBytes(swMemoryFailure)
	}
	if result == apdu.SWOK {
		c.otherVerified[k.name] = true
	} else {
		delete(c.otherVerified, k.name) // as the JPKI AP: a failed VERIFY drops it [?]
	}
	return swBytes(result)
}

// otherChange is CHANGE REFERENCE DATA 00 24 01 80 (text AP PIN,
// MYNA-CARD text.rs change_pin) or CHANGE KEY 80 32 00 80 (common and 住基
// AP PINs, MYNA-CARD common.rs change_pin) after a VERIFY in the same
// session. 照合番号 and the birth-date key are printed on the card and
// cannot be changed: 6985 [I].
func (c *Card) otherChange(cmd apdu.Command) []byte {
	changeKey := cmd.CLA == 0x80
	if (changeKey && cmd.P1 != 0x00) || (!changeKey && cmd.P1 != 0x01) {
		return swBytes(apdu.SWIncorrectP1P2)
	}
	k, sw := c.otherKeyRef(cmd.P2)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	if k.rule == nil || changeKey != (k.app != appText) {
		return swBytes(apdu.SWConditionsNotMet)
	}
	if len(cmd.Data) == 0 {
		return swBytes(apdu.SWWrongLength)
	}
	if c.st.otherTries(k) == 0 {
		return swBytes(apdu.SWRefDataBlocked)
	}
	if !c.otherVerified[k.name] {
		return swBytes(apdu.SWSecurityStatus)
	}
	if !c.st.Quirks.ChangeAcceptsAnyValue && !k.rule.Match(cmd.Data) {
		return swBytes(apdu.SWWrongData)
	}
	err := c.mutateLocked(func(s *state) bool {
		s.Other.PINs[k.name] = string(cmd.Data)
		delete(s.Other.Tries, k.name)
		return true
	})
	if err != nil {
		return swBytes(swMemoryFailure)
	}
	return swBytes(apdu.SWOK)
}

// countApplet records, before a command runs, whether it goes to an
// applet other than the JPKI AP (Stats.OtherApplet). SELECT by DF name is
// counted by selectFile instead (Stats.Selects).
func (c *Card) countApplet(raw []byte) {
	if len(raw) >= 3 && raw[1] == apdu.INSSelect && raw[2] == apdu.SelectByDFName {
		return
	}
	if c.inOtherApplet() {
		c.stats.OtherApplet++
	}
}
