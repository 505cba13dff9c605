package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Status words the simulator answers beyond those apdu names.
const (
	swMemoryFailure apdu.SW = 0x6581 // the state file could not be written
	swNoCurrentEF   apdu.SW = 0x6986 // command not allowed: no EF selected
)

// event tells the transport what happened beyond the response.
type event int

const (
	evNone    event = iota
	evRemoved       // the card left the reader; no response
	evReset         // the card was reset before the command; not executed
	evSilent        // the card did not answer
)

// Process answers one command APDU with one response APDU, exactly as
// the card would. It returns nil when an injected fault made the card
// silent or removed it.
func (c *Card) Process(cmd []byte) []byte {
	resp, ev := c.process(cmd)
	if ev == evReset { // seen directly, a reset is just a reset: run the command
		resp, _ = c.process(cmd)
	}
	return resp
}

// process is Process with the fault event for transports.
func (c *Card) process(cmd []byte) ([]byte, event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil, evRemoved
	}
	c.reloadLocked()
	f, strike := c.fault.next(cmd)
	if strike {
		switch f.Kind {
		case FaultRemove:
			c.removed = true
			c.resetLocked()
			c.tracef("sim: fault: card removed")
			return nil, evRemoved
		case FaultReset:
			c.resetLocked()
			c.tracef("sim: fault: card reset by another application")
			return nil, evReset
		case FaultSilent:
			c.tracef("sim: fault: card silent")
			return nil, evSilent
		}
	}
	c.sleep(c.opt.LatencyAPDU)
	c.stats.count(cmd)
	c.countApplet(cmd)
	c.traceCommand(cmd)
	resp := c.execute(cmd)
	if c.leaving {
		c.leaving, c.removed = false, true
		c.resetLocked()
		c.traceResponse(cmd, resp)
		c.tracef("sim: the credential left the reader after its end command")
		return resp, evNone
	}
	if strike && f.Kind == FaultLost {
		c.tracef("sim: fault: the command ran, its answer is lost")
		return nil, evSilent
	}
	if strike {
		resp = f.corrupt(resp)
	}
	c.traceResponse(cmd, resp)
	return resp, evNone
}

func swBytes(sw apdu.SW) []byte { return []byte{sw.SW1(), sw.SW2()} }

func ok(data []byte) []byte { return apdu.Response{Data: data, SW: apdu.SWOK}.Bytes() }

// execute runs one command on the card state. c.mu is held.
func (c *Card) execute(raw []byte) []byte {
	cmd, err := apdu.Parse(raw)
	if err != nil {
		return swBytes(apdu.SWWrongLength)
	}
	switch cmd.CLA {
	case apdu.CLAISO:
		if cmd.Extended {
			return swBytes(apdu.SWWrongLength)
		}
		switch cmd.INS {
		case apdu.INSSelect:
			return c.selectFile(cmd)
		case apdu.INSReadRecord:
			return c.readRecord(cmd)
		}
		if c.inOtherApplet() {
			switch cmd.INS {
			case apdu.INSReadBinary:
				return c.otherReadBinary(cmd)
			case apdu.INSVerify:
				return c.otherVerify(cmd)
			case apdu.INSChangeReferenceData:
				return c.otherChange(cmd)
			}
			return swBytes(apdu.SWINSNotSupported)
		}
		switch cmd.INS {
		case apdu.INSReadBinary:
			return c.readBinary(cmd)
		case apdu.INSVerify:
			return c.verify(cmd)
		case apdu.INSChangeReferenceData:
			return c.changeReferenceData(cmd)
		}
		return swBytes(apdu.SWINSNotSupported)
	case apdu.CLAProprietary:
		if cmd.Extended {
			return swBytes(apdu.SWWrongLength)
		}
		if cmd.INS == apdu.INSEnd {
			return c.end(cmd)
		}
		if c.inOtherApplet() {
			// The 券面 APs' own signing key (MYNA-CARD text.rs sign, P2=00)
			// is not modelled.
			if cmd.INS == apdu.INSChangeKey {
				return c.otherChange(cmd)
			}
			return swBytes(apdu.SWINSNotSupported)
		}
		if cmd.INS == apdu.INSComputeSignature {
			return c.sign(cmd)
		}
		return swBytes(apdu.SWINSNotSupported)
	}
	return swBytes(apdu.SWCLANotSupported)
}

// clearSecurity forgets the verified PINs of the current applet: each
// applet has its own security state, cleared when another applet is
// selected (MYNA-CARD src/ap/mod.rs, cardos/jpki/FACTS.md §9) [S]. Only the
// current applet's state can be set, so clearing all of it is the same.
func (c *Card) clearSecurity() {
	c.authVerified, c.signVerified = false, false
	c.otherVerified = map[string]bool{}
}

func (c *Card) selectFile(cmd apdu.Command) []byte {
	switch cmd.P1 {
	case apdu.SelectByDFName:
		if cmd.P2 != apdu.SelectNoFCI && cmd.P2 != apdu.SelectFCI {
			return swBytes(apdu.SWIncorrectP1P2)
		}
		app, aid, found := lookupApplet(cmd.Data)
		if !found || c.phoneRefusesApplet(app) {
			return swBytes(apdu.SWFileNotFound)
		}
		// Selecting another applet clears the security state of the one
		// left (MYNA-CARD src/ap/mod.rs; selecting the GP ISD restores the
		// MF-level state, src/mf.rs) [S]; re-selecting the same applet
		// keeps it unless Quirks.ReselectClearsPINs (sources disagree,
		// cardos/jpki/FACTS.md §9). Quirks.LeaveKeepsPINs models a card whose
		// applets share one security state.
		switch {
		case app != c.app && !c.st.Quirks.LeaveKeepsPINs, app == c.app && c.st.Quirks.ReselectClearsPINs:
			c.clearSecurity()
		}
		c.app = app
		c.stats.countSelect(appletNames[app])
		c.ef, c.efSelected = 0, false
		if cmd.P2 == apdu.SelectNoFCI {
			return swBytes(apdu.SWOK)
		}
		// FCI template with the DF name; the real content is unknown.
		fci := append([]byte{0x6F, byte(2 + len(aid)), 0x84, byte(len(aid))}, aid...)
		if cmd.Le > 0 && cmd.Le < len(fci) {
			fci = fci[:cmd.Le]
		}
		return ok(fci)
	case apdu.SelectEFUnderDF:
		if cmd.P2 != apdu.SelectNoFCI {
			return swBytes(apdu.SWIncorrectP1P2)
		}
		if len(cmd.Data) != 2 {
			return swBytes(apdu.SWWrongLength)
		}
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if !c.efExists(fid) {
			return swBytes(apdu.SWFileNotFound)
		}
		c.ef, c.efSelected = fid, true
		return swBytes(apdu.SWOK)
	case apdu.SelectMF:
		if len(cmd.Data) > 0 {
			return swBytes(apdu.SWFileNotFound)
		}
		if c.app == appNone || c.app == appISD {
			return swBytes(apdu.SWIncorrectP1P2)
		}
		return swBytes(apdu.SWOK)
	}
	return swBytes(apdu.SWIncorrectP1P2)
}

// efExists reports whether fid can be selected in the current applet.
func (c *Card) efExists(fid uint16) bool {
	if c.app != appJPKI {
		return c.otherEFExists(fid)
	}
	if internalEFs[fid] {
		return true
	}
	_, ok := c.efs[fid]
	return ok
}

func (c *Card) readBinary(cmd apdu.Command) []byte {
	offset := int(cmd.P1)<<8 | int(cmd.P2)
	if cmd.P1&0x80 != 0 { // short EF identifier in P1, 8-bit offset in P2
		fid := uint16(cmd.P1 & 0x1F)
		if cmd.P1&0x60 != 0 || !c.efExists(fid) {
			return swBytes(apdu.SWFileNotFound)
		}
		c.ef, c.efSelected = fid, true
		offset = int(cmd.P2)
	}
	if cmd.Le == 0 {
		return swBytes(apdu.SWWrongLength)
	}
	if !c.efSelected {
		return swBytes(swNoCurrentEF)
	}
	if internalEFs[c.ef] {
		return swBytes(apdu.SWIncompatibleFile)
	}
	if k := c.readNeeds(c.ef); k != 0 && !c.verified(k) {
		return swBytes(apdu.SWSecurityStatus)
	}
	data := c.efs[c.ef]
	if offset >= len(data) {
		return swBytes(apdu.SWWrongP1P2)
	}
	le := cmd.Le
	if c.opt.MaxResponse > 0 {
		le = min(le, c.opt.MaxResponse)
	}
	end := min(offset+le, len(data))
	return ok(data[offset:end])
}

// pinRef resolves the PIN a VERIFY or CHANGE refers to: P2=80 is the
// selected EF, P2=80|SFI names it directly.
func (c *Card) pinRef(p2 byte) (key int, sw apdu.SW) {
	fid := c.ef
	switch {
	case p2 == 0x80:
		if !c.efSelected {
			return 0, swNoCurrentEF
		}
	case p2 == 0x98 || p2 == 0x9B:
		if c.app != appJPKI {
			return 0, apdu.SWFileNotFound
		}
		fid = uint16(p2 & 0x1F)
	default:
		return 0, apdu.SWIncorrectP1P2
	}
	switch fid {
	case efAuthPIN:
		return 1, apdu.SWOK
	case efSignPIN:
		return 2, apdu.SWOK
	}
	return 0, apdu.SWIncompatibleFile
}

func (c *Card) tries(key int) int {
	if key == 1 {
		return c.st.AuthTries
	}
	return c.st.SignTries
}

// verifyWithoutCompare answers what a VERIFY answers before any PIN is
// compared, for the JPKI PINs and the other applets' alike: the retry
// query (no data: 63Cx, never spends a try; the blocked answer is a
// quirk) and a PIN already blocked (6984). done is false when the PIN
// must be compared; the VERIFY with data is counted either way.
func (c *Card) verifyWithoutCompare(left int, data []byte) (sw apdu.SW, done bool) {
	if len(data) == 0 {
		if left == 0 {
			return c.st.Quirks.blockedQuerySW(), true
		}
		return apdu.TriesLeftSW(left), true
	}
	c.stats.Verifies++
	if left == 0 {
		return apdu.SWRefDataBlocked, true
	}
	return 0, false
}

func (c *Card) verify(cmd apdu.Command) []byte {
	if cmd.P1 != 0x00 {
		return swBytes(apdu.SWIncorrectP1P2)
	}
	key, sw := c.pinRef(cmd.P2)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	if sw, done := c.verifyWithoutCompare(c.tries(key), cmd.Data); done {
		return swBytes(sw)
	}
	var result apdu.SW
	err := c.mutateLocked(func(s *state) bool {
		want, tries, max := s.AuthPIN, &s.AuthTries, AuthMaxTries
		if key == 2 {
			want, tries, max = s.SignPIN, &s.SignTries, s.Quirks.maxTries(2)
		}
		if *tries == 0 { // another process blocked it meanwhile
			result = apdu.SWRefDataBlocked
			return false
		}
		if subtle.ConstantTimeCompare([]byte(want), cmd.Data) == 1 {
			result = apdu.SWOK
			if *tries == max {
				return false
			}
			*tries = max
			return true
		}
		*tries--
		result = apdu.TriesLeftSW(*tries)
		return true
	})
	if err != nil {
		c.setVerified(key, false)
		return swBytes(swMemoryFailure)
	}
	c.setVerified(key, result == apdu.SWOK)
	return swBytes(result)
}

func (c *Card) setVerified(key int, v bool) {
	if key == 1 {
		c.authVerified = v
	} else {
		c.signVerified = v
	}
}

func (c *Card) verified(key int) bool {
	if key == 1 {
		return c.authVerified
	}
	return c.signVerified
}

func (c *Card) changeReferenceData(cmd apdu.Command) []byte {
	q := c.st.Quirks
	newValue := cmd.Data
	switch {
	case q.ChangeNeedsOld && cmd.P1 == 0x00:
		// old‖new: the old value is the stored one's length.
		key, sw := c.pinRef(cmd.P2)
		if sw != apdu.SWOK {
			return swBytes(sw)
		}
		old := c.st.AuthPIN
		if key == 2 {
			old = c.st.SignPIN
		}
		if len(cmd.Data) <= len(old) || string(cmd.Data[:len(old)]) != old {
			return swBytes(apdu.SWWrongData)
		}
		newValue = cmd.Data[len(old):]
	case q.ChangeNeedsOld || cmd.P1 != apdu.ChangeNewValue:
		return swBytes(apdu.SWIncorrectP1P2)
	}
	key, sw := c.pinRef(cmd.P2)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	if len(newValue) == 0 {
		return swBytes(apdu.SWWrongLength)
	}
	if c.tries(key) == 0 {
		return swBytes(apdu.SWRefDataBlocked)
	}
	if !c.verified(key) {
		return swBytes(apdu.SWSecurityStatus)
	}
	if !q.ChangeAcceptsAnyValue {
		rule := authPINRule
		if key == 2 {
			rule = signPINRule
		}
		if !rule.Match(newValue) {
			return swBytes(apdu.SWWrongData)
		}
	}
	stored := string(newValue)
	switch q.ChangeStores {
	case ChangeKeepsOld:
		return swBytes(apdu.SWOK)
	case ChangeGarbles:
		stored = stored[:len(stored)-1] + string(rune('0'+(stored[len(stored)-1]-'0'+1)%10))
	}
	err := c.mutateLocked(func(s *state) bool {
		if key == 1 {
			s.AuthPIN, s.AuthTries = stored, AuthMaxTries
		} else {
			s.SignPIN, s.SignTries = stored, s.Quirks.maxTries(2)
		}
		return true
	})
	if err != nil {
		return swBytes(swMemoryFailure)
	}
	return swBytes(apdu.SWOK)
}

// maxSignInput is k−11 for a 2048-bit key: the longest PKCS#1 v1.5 input.
const maxSignInput = 245

func (c *Card) sign(cmd apdu.Command) []byte {
	fid := c.ef
	switch {
	case cmd.P2 == apdu.RefCurrentEF:
		if !c.efSelected {
			return swBytes(swNoCurrentEF)
		}
	case cmd.P2 == 0x97 || cmd.P2 == 0x9A:
		if c.app != appJPKI {
			return swBytes(apdu.SWFileNotFound)
		}
		fid = uint16(cmd.P2 & 0x1F)
	default:
		return swBytes(apdu.SWIncorrectP1P2)
	}
	var key *rsa.PrivateKey
	var verified bool
	switch fid {
	case efAuthKey:
		key, verified = c.keys.auth, c.authVerified
	case efSignKey:
		key, verified = c.keys.sign, c.signVerified
	default:
		return swBytes(apdu.SWIncompatibleFile)
	}
	if cmd.P1 != 0x00 && (!c.st.Quirks.SignSchemes || cmd.P1 > 0x05) {
		return swBytes(apdu.SWIncorrectP1P2)
	}
	if !verified {
		return swBytes(apdu.SWSecurityStatus)
	}
	if len(cmd.Data) == 0 {
		return swBytes(apdu.SWWrongLength)
	}
	sig, sw := signScheme(key, cmd.P1, cmd.Data, c.st.Quirks)
	if sw != apdu.SWOK {
		return swBytes(sw)
	}
	c.stats.Signatures++
	c.sleep(c.opt.LatencySign)
	return ok(sig)
}

// signScheme computes the signature for SIGN P1 (see Quirks.SignSchemes).
func signScheme(key *rsa.PrivateKey, p1 byte, data []byte, q Quirks) ([]byte, apdu.SW) {
	var sig []byte
	var err error
	switch p1 {
	case apdu.SignPKCS1Padding: // type 01 over the bytes as given
		if len(data) > maxSignInput {
			return nil, q.signTooLongSW()
		}
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.Hash(0), data)
	case 0x01, 0x03, 0x05: // SHA-256 on card, then as P1 00, 02, 04
		if len(data) > 255 {
			return nil, apdu.SWWrongLength
		}
		h := sha256.Sum256(data)
		next := map[byte]byte{0x01: 0x00, 0x03: 0x02, 0x05: 0x04}[p1]
		return signScheme(key, next, h[:], q)
	case 0x02, 0x04: // 32-byte SHA-256 given: DigestInfo + PKCS#1 v1.5, or PSS
		if len(data) != sha256.Size {
			return nil, apdu.SWWrongLength
		}
		if p1 == 0x02 {
			sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, data)
		} else {
			sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, data, &rsa.PSSOptions{SaltLength: sha256.Size})
		}
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	return sig, apdu.SWOK
}
