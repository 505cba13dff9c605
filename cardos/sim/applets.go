package sim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The applets beside the JPKI AP: 券面事項入力補助AP ("text AP"),
// 券面事項確認AP ("visual AP"), 共通カードAP, 住基AP and the
// GlobalPlatform issuer security domain. The simulator models what the
// sources in cardos/jpki/FACTS.md (§1, §6, §7, §9) document: their key references (PINs and 照合番号) with their own retry
// counters, and the EFs whose content is documented. Every value is
// fictional (see faceDefaults).

// Key reference names, used as keys of the persisted counters and by
// Card.OtherTries. They are stable: they are stored in state files.
const (
	KeyTextPIN     = "text-pin"     // 券面事項入力補助AP EF 0011: 4-digit PIN
	KeyTextCodeA   = "text-code-a"  // 券面事項入力補助AP EF 0014: 照合番号A (the 12-digit My Number)
	KeyTextCodeB   = "text-code-b"  // 券面事項入力補助AP EF 0015: 照合番号B (14 digits)
	KeyText0012    = "text-0012"    // 券面事項入力補助AP EF 0012: blocked from issue
	KeyVisualBirth = "visual-birth" // 券面事項確認AP EF 0011: birth date YYMMDD (Japanese era year)
	KeyVisualCodeB = "visual-code-b"
	KeyVisualCodeA = "visual-code-a"
	KeyCommonPIN   = "common-pin" // 共通カードAP EF 001C: 4-digit PIN
	KeyJukiPIN     = "juki-pin"   // 住基AP EF 001C: 4-digit PIN
)

// Retry counters of the other applets' key references.
const (
	// TextPINMaxTries: the 4-digit PINs of the text, common and 住基 APs
	// lock after 3 wrong entries like the auth PIN (municipal pages cited
	// in cardos/jpki/FACTS.md §6 give 3 for the auth PIN; PAGES: 練馬区 gives 3
	// for the 住民基本台帳用 PIN) [I for the text AP PIN].
	TextPINMaxTries = 3
	// CodeMaxTries: 照合番号B locks after 10 wrong entries (PAGES:
	// services.digital.go.jp "入力項目を続けて10回間違えた場合…ロック", 松山市
	// 照合番号B unlock page). The same is assumed for 照合番号A and the
	// birth-date key, for which no source gives a number [?]:
	// Quirks.CodeAMaxTries changes 照合番号A's.
	CodeMaxTries = 10
)

// keyRef is one key reference (PIN EF) of an applet other than the JPKI
// AP.
type keyRef struct {
	name  string
	app   applet
	fid   uint16
	label string
	// rule is the format a new value must have (CHANGE REFERENCE DATA);
	// nil: the value cannot be changed.
	rule *regexp.Regexp
	// blocked marks a reference that is blocked from issue and has no
	// counter in the state.
	blocked bool
}

var fourDigits = regexp.MustCompile(`^[0-9]{4}$`)

// keyRefs lists the key references. Sources: MYNA-GO/RS text_ap/visual_ap,
// JSAPDU constants.ts, MYNA-CARD src/ap/{text,surface,common,juki}.rs
// (cardos/jpki/FACTS.md §6).
var keyRefs = []keyRef{
	{KeyTextPIN, appText, 0x0011, "券面事項入力補助AP PIN", fourDigits, false},
	// MYNA-CARD text.rs: EF 0012 answers 63C0 to the query and 6984 to a
	// VERIFY on every card examined: blocked from issue [S].
	{KeyText0012, appText, 0x0012, "券面事項入力補助AP EF 0012 (blocked at issue)", nil, true},
	{KeyTextCodeA, appText, 0x0014, "券面事項入力補助AP 照合番号A", nil, false},
	{KeyTextCodeB, appText, 0x0015, "券面事項入力補助AP 照合番号B", nil, false},
	{KeyVisualBirth, appVisual, 0x0011, "券面事項確認AP birth-date key", nil, false},
	{KeyVisualCodeB, appVisual, 0x0012, "券面事項確認AP 照合番号B", nil, false},
	{KeyVisualCodeA, appVisual, 0x0013, "券面事項確認AP 照合番号A", nil, false},
	// MYNA-CARD common.rs/juki.rs: the 共通カードAP and 住基AP have a PIN EF
	// 001C each; user interfaces treat them as one PIN with the text AP's
	// but they are separate references, changed separately [S].
	{KeyCommonPIN, appCommon, 0x001C, "共通カードAP PIN", fourDigits, false},
	{KeyJukiPIN, appJuki, 0x001C, "住基AP PIN", fourDigits, false},
}

func lookupKeyRef(app applet, fid uint16) (keyRef, bool) {
	for _, k := range keyRefs {
		if k.app == app && k.fid == fid {
			return k, true
		}
	}
	return keyRef{}, false
}

// maxTries is the counter of k when unblocked.
func (k keyRef) maxTries(q Quirks) int {
	switch k.name {
	case KeyTextPIN, KeyCommonPIN, KeyJukiPIN:
		return TextPINMaxTries
	case KeyTextCodeA, KeyVisualCodeA:
		return q.codeAMaxTries()
	case KeyText0012:
		return 0
	}
	return CodeMaxTries
}

// otherState is the persistent memory of the other applets. A state file
// written before these applets existed has none; unmarshalState fills it
// from the profile (deterministically), so old files keep working.
type otherState struct {
	// MyNumber is the fictional 12-digit 個人番号 (照合番号A).
	MyNumber string `json:"my_number"`
	// CardExpiry is the card's expiry date, YYYY-MM-DD.
	CardExpiry string `json:"card_expiry"`
	// SecurityCode is the 4-digit セキュリティコード printed on the face.
	SecurityCode string `json:"security_code"`
	// PINs holds the 4-digit PIN values by key reference name.
	PINs map[string]string `json:"pins"`
	// Tries holds the retry counters by key reference name; a missing
	// entry is a full counter.
	Tries map[string]int `json:"tries,omitempty"`
}

func (o *otherState) clone() *otherState {
	c := *o
	c.PINs = make(map[string]string, len(o.PINs))
	for k, v := range o.PINs {
		c.PINs[k] = v
	}
	c.Tries = make(map[string]int, len(o.Tries))
	for k, v := range o.Tries {
		c.Tries[k] = v
	}
	return &c
}

// defaultOther returns the fictional data of a new card: the My Number
// fictionalMyNumber, pin (the auth PIN) as the other 4-digit PINs (as
// issued, people usually register one 4-digit PIN for all of them), an
// expiry on the 10th birthday after the certificates' issue (5th for the
// certificates, cardos/jpki/FACTS.md §13 and gen.go), security code 0000.
func defaultOther(pin string, certNotAfter time.Time) *otherState {
	expiry := certNotAfter.AddDate(5, 0, 0)
	return &otherState{
		MyNumber:     fictionalMyNumber,
		CardExpiry:   expiry.Format(time.DateOnly),
		SecurityCode: "0000",
		PINs:         map[string]string{KeyTextPIN: pin, KeyCommonPIN: pin, KeyJukiPIN: pin},
		Tries:        map[string]int{},
	}
}

// fictionalMyNumber is the 個人番号 of every simulated card. A real My
// Number's 12th digit is a check digit computed from the first 11
// (総務省令 on the 個人番号 check digit: weights 2–7, 2–6 from the right,
// modulus 11; see myNumberCheckDigit). For 12345678901 the check digit is
// 8; this number ends in 0 instead, so it fails the check and can never
// be issued to a person.
const fictionalMyNumber = "123456789010"

// myNumberCheckDigit returns the check digit of the first 11 digits of a
// 個人番号: with P(n) the n-th digit counted from the right of those 11
// and Q(n) = n+1 for n ≤ 6, n−5 above, r = Σ P(n)·Q(n) mod 11, the check
// digit is 0 when r ≤ 1, else 11 − r.
func myNumberCheckDigit(first11 string) int {
	sum := 0
	for n := 1; n <= 11; n++ {
		p := int(first11[11-n] - '0')
		q := n + 1
		if n >= 7 {
			q = n - 5
		}
		sum += p * q
	}
	if r := sum % 11; r > 1 {
		return 11 - r
	}
	return 0
}

// warekiYYMMDD writes a date as the card's birth-date key does: the
// Japanese era year in two digits, then month and day (MYNA-CARD
// data::verification_code_b, README: "the card wants the date of birth
// as a Japanese era year") [S].
func warekiYYMMDD(d time.Time) string {
	eras := []struct {
		start time.Time
		first int
	}{
		{time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC), 2019},   // 令和
		{time.Date(1989, 1, 8, 0, 0, 0, 0, time.UTC), 1989},   // 平成
		{time.Date(1926, 12, 25, 0, 0, 0, 0, time.UTC), 1926}, // 昭和
		{time.Date(1912, 7, 30, 0, 0, 0, 0, time.UTC), 1912},  // 大正
	}
	year := d.Year() - 1868 + 1 // 明治
	for _, e := range eras {
		if !d.Before(e.start) {
			year = d.Year() - e.first + 1
			break
		}
	}
	return fmt.Sprintf("%02d%02d%02d", year%100, int(d.Month()), d.Day())
}

// keyValue returns the value key reference k expects on card s.
func (s *state) keyValue(k keyRef) string {
	o := s.Other
	birth, _ := time.Parse(time.DateOnly, s.Profile.BirthDate)
	switch k.name {
	case KeyTextCodeA, KeyVisualCodeA:
		return o.MyNumber
	case KeyTextCodeB, KeyVisualCodeB:
		return s.codeB()
	case KeyVisualBirth:
		return warekiYYMMDD(birth)
	case KeyText0012:
		return ""
	}
	return o.PINs[k.name]
}

// codeB is 照合番号B: birth date (Japanese era YYMMDD) + the expiry year
// + the security code, 14 digits (JSAPDU constants.ts "YYMMDD + 有効期限年
// + セキュリティコード", MYNA-CARD data::verification_code_b).
func (s *state) codeB() string {
	birth, _ := time.Parse(time.DateOnly, s.Profile.BirthDate)
	return warekiYYMMDD(birth) + s.Other.CardExpiry[:4] + s.Other.SecurityCode
}

// otherTries returns the counter of k.
func (s *state) otherTries(k keyRef) int {
	if k.blocked {
		return 0
	}
	if n, ok := s.Other.Tries[k.name]; ok {
		return n
	}
	return k.maxTries(s.Quirks)
}

func (s *state) validateOther() error {
	o := s.Other
	if len(o.MyNumber) != 12 || strings.Trim(o.MyNumber, "0123456789") != "" {
		return fmt.Errorf("my_number %q must be 12 digits", o.MyNumber)
	}
	if _, err := time.Parse(time.DateOnly, o.CardExpiry); err != nil {
		return fmt.Errorf("card_expiry %q must be YYYY-MM-DD", o.CardExpiry)
	}
	for _, k := range keyRefs {
		if n := s.otherTries(k); n < 0 || n > k.maxTries(s.Quirks) {
			return fmt.Errorf("retry counter %s = %d out of range", k.name, n)
		}
	}
	return nil
}

// OtherKey is the retry counter of one key reference of an applet other
// than the JPKI AP.
type OtherKey struct {
	// Name is the stable key name (KeyTextPIN, ...).
	Name string
	// Label says which applet and which PIN or 照合番号 it is.
	Label string
	// TriesLeft is the counter; 0 is blocked.
	TriesLeft int
	// MaxTries is the counter when unblocked.
	MaxTries int
}

// OtherTries returns the retry counters of the other applets' key
// references, in the card's order.
func (c *Card) OtherTries() []OtherKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloadLocked()
	out := make([]OtherKey, 0, len(keyRefs))
	for _, k := range keyRefs {
		out = append(out, OtherKey{Name: k.name, Label: k.label, TriesLeft: c.st.otherTries(k), MaxTries: k.maxTries(c.st.Quirks)})
	}
	return out
}

// resetOtherTries restores every counter (the municipal-office unlock);
// the reference blocked from issue stays blocked, and a
// face-authentication card, which has no PIN set (cardos/jpki/FACTS.md
// §13),
// keeps its 4-digit PINs at 0.
func (s *state) resetOtherTries() {
	s.Other.Tries = map[string]int{}
	if s.Profile.FaceAuth {
		for _, k := range keyRefs {
			if k.rule != nil {
				s.Other.Tries[k.name] = 0
			}
		}
	}
}
