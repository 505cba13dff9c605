package sim

import (
	"io"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Default values of a generated card.
const (
	// DefaultAuthPIN is the user-authentication PIN of a generated card.
	DefaultAuthPIN = "1234"
	// DefaultSignPIN is the digital-signature password of a generated card.
	DefaultSignPIN = "ABC123"
	// AuthMaxTries is the retry counter of the auth PIN when unblocked.
	AuthMaxTries = 3
	// SignMaxTries is the retry counter of the sign password when unblocked.
	SignMaxTries = 5
	// DefaultTimeout is how long an in-process transport waits for a
	// silent card before it reports cardos.ErrTimeout.
	DefaultTimeout = 200 * time.Millisecond
)

// DefaultATR is the contact ATR OpenSC's jpki driver matches.
var DefaultATR = []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}

// Profile describes the card holder and the kind of card generated on
// first use. Zero fields take the defaults below. It only matters when a
// card is created; an existing state file keeps its own.
type Profile struct {
	// AuthPIN is the 4-digit user-authentication PIN (default "1234").
	AuthPIN string `json:"-"`
	// SignPIN is the 6–16 character A–Z/0–9 signature password (default
	// "ABC123").
	SignPIN string `json:"-"`
	// NoSignCert models a card without a signature certificate (holders
	// under 15); Quirks.NoSignCertEF says how EF 0001 looks then.
	NoSignCert bool `json:"no_sign_cert,omitempty"`
	// Expired issues the holder certificates six years in the past so
	// that both have expired (the CAs stay valid).
	Expired bool `json:"expired,omitempty"`
	// FaceAuth models a face-authentication card: no PIN is set (both
	// retry counters read 0 and AdminReset does not change that) and no
	// signature certificate is loaded.
	FaceAuth bool `json:"face_auth,omitempty"`
	// Name is the holder's name (default a clearly fictional "見本 花子").
	Name string `json:"name,omitempty"`
	// Address is the holder's address (default a fictional address).
	Address string `json:"address,omitempty"`
	// BirthDate is YYYY-MM-DD (default 1985-04-12). The certificates
	// expire on the holder's 5th birthday after issue.
	BirthDate string `json:"birth_date,omitempty"`
	// Sex is the JIS X 0303 code: "1" male, "2" female (default "2").
	Sex string `json:"sex,omitempty"`
}

// NoSignCertEF says what EF 0001 is on a card without a signature
// certificate. Real cards are not documented [?].
type NoSignCertEF int

const (
	// SignEFFiller (default): EF 0001 exists and holds only filler bytes.
	SignEFFiller NoSignCertEF = iota
	// SignEFAbsent: SELECT of EF 0001 answers 6A82.
	SignEFAbsent
	// SignEFEmpty: EF 0001 exists with size 0; every READ answers 6B00.
	SignEFEmpty
)

// ChangeStores is what a PIN change answered with 9000 stores.
type ChangeStores int

const (
	// ChangeAsSent stores the new value (default).
	ChangeAsSent ChangeStores = iota
	// ChangeKeepsOld keeps the old value.
	ChangeKeepsOld
	// ChangeGarbles stores the new value with its last byte changed.
	ChangeGarbles
)

// Quirks configures the behaviour cardos/jpki/FACTS.md marks as unknown
// [?] (§14).
// The zero value gives the documented defaults. Quirks are stored in the
// state file when a card is created, so every process using that file
// behaves alike.
type Quirks struct {
	// BlockedQuerySW is the answer to an empty VERIFY on a blocked PIN:
	// 0 means 63C0 (default; OpenSC keeps working), or set 6984.
	BlockedQuerySW apdu.SW `json:"blocked_query_sw,omitempty"`
	// ReselectClearsPINs makes SELECT of the already selected applet drop
	// verified PINs. Default false: re-selecting keeps them.
	ReselectClearsPINs bool `json:"reselect_clears_pins,omitempty"`
	// LeaveKeepsPINs makes selecting another applet (the GP ISD, the text
	// AP) keep the JPKI applet's verified PINs, as a card with one
	// security state for all its applets would: only a reset drops them.
	// No published trace shows either; the default (false) clears them, as
	// MYNA-CARD (soltia48/myna-card, src/ap/mod.rs) describes.
	LeaveKeepsPINs bool `json:"leave_keeps_pins,omitempty"`
	// Filler is the byte after the DER object in certificate EFs; nil
	// means 0xFF.
	Filler *byte `json:"filler,omitempty"`
	// CertEFSize is the size of each certificate EF; 0 means 2048 bytes
	// (or the DER length when that is larger).
	CertEFSize int `json:"cert_ef_size,omitempty"`
	// SignSchemes enables SIGN with P1 01–05 (on-card SHA-256, DigestInfo,
	// RSASSA-PSS) as one source reports. Default false: P1≠00 → 6A86.
	SignSchemes bool `json:"sign_schemes,omitempty"`
	// SignTooLongSW is the answer to SIGN data longer than 245 bytes:
	// 0 means 6700 (default), or set 6985.
	SignTooLongSW apdu.SW `json:"sign_too_long_sw,omitempty"`
	// NoSignCertEF says how EF 0001 looks on a card without a signature
	// certificate (default SignEFFiller).
	NoSignCertEF NoSignCertEF `json:"no_sign_cert_ef,omitempty"`
	// ChangeAcceptsAnyValue makes CHANGE REFERENCE DATA accept any new
	// value. Default false: the new auth PIN must be 4 digits and the new
	// sign password 6–16 of A–Z0–9, else 6A80.
	ChangeAcceptsAnyValue bool `json:"change_accepts_any_value,omitempty"`
	// ChangeStores says what CHANGE REFERENCE DATA stores when it answers
	// 9000. No published trace shows this card's PIN change (jpki/myna
	// calls its own "untested"): ChangeAsSent (default) stores the new
	// value; ChangeKeepsOld keeps the old one; ChangeGarbles stores
	// something neither (the new value with its last byte changed).
	ChangeStores ChangeStores `json:"change_stores,omitempty"`
	// ChangeNeedsOld makes CHANGE REFERENCE DATA take the old and the new
	// value (P1 00, data old‖new, ISO 7816-4 section 11.5.7) and refuse
	// P1 01 (new value only) with 6A86.
	ChangeNeedsOld bool `json:"change_needs_old,omitempty"`
	// SignMaxTries is the signature password's retry counter with every
	// try left, as the card counts and reports it (63Cx). J-LIS documents
	// that the password locks after 5 wrong tries, but no published trace
	// shows the card answering 63C5; 0 means SignMaxTries (5).
	SignMaxTries int `json:"sign_max_tries,omitempty"`
	// CodeAMaxTries is the retry counter of 照合番号A (text AP EF 0014,
	// visual AP EF 0013). No source gives it [?]; 0 means CodeMaxTries
	// (10), the number documented for 照合番号B.
	CodeAMaxTries int `json:"code_a_max_tries,omitempty"`

	// The Phone* switches apply only to a smartphone credential
	// (Options.Device android or iphone); see Device for what is known.

	// PhoneSignCertFree makes the signature certificate (EF 0001)
	// readable without the password. Default false: 69 82 before the
	// password, as on the card (jpki/myna verifies the password first on
	// every device).
	PhoneSignCertFree bool `json:"phone_sign_cert_free,omitempty"`
	// PhoneCAsBehindPIN makes each CA certificate readable only after its
	// key's PIN (EF 000B the auth PIN, EF 0002 the password). Default
	// false: free, as on the card (jpki/myna reads them without a PIN on
	// every device).
	PhoneCAsBehindPIN bool `json:"phone_cas_behind_pin,omitempty"`
	// IPhoneAuthCertFree makes the iPhone's authentication certificate
	// readable without the auth PIN. Default false: behind the PIN, as
	// on Android.
	IPhoneAuthCertFree bool `json:"iphone_auth_cert_free,omitempty"`
	// PhoneRoutesAllAIDs makes a phone answer SELECT of the card's other
	// applets (the GP ISD, the 券面 APs) as the card does. Default false:
	// the reader's NFC routing reaches only the JPKI applet, so SELECT of
	// any other AID answers 6A82 and changes nothing (the JPKI applet
	// stays selected with its verified PINs).
	PhoneRoutesAllAIDs bool `json:"phone_routes_all_aids,omitempty"`
	// PhoneEnd is what the iPhone's end command does (default EndKeeps).
	PhoneEnd PhoneEnd `json:"phone_end,omitempty"`
}

// maxTries is the retry counter of key 1 (auth PIN) or 2 (sign
// password) with every try left.
func (q Quirks) maxTries(key int) int {
	if key == 1 {
		return AuthMaxTries
	}
	if q.SignMaxTries > 0 {
		return q.SignMaxTries
	}
	return SignMaxTries
}

func (q Quirks) codeAMaxTries() int {
	if q.CodeAMaxTries <= 0 {
		return CodeMaxTries
	}
	return q.CodeAMaxTries
}

func (q Quirks) blockedQuerySW() apdu.SW {
	if q.BlockedQuerySW == 0 {
		return 0x63C0
	}
	return q.BlockedQuerySW
}

func (q Quirks) filler() byte {
	if q.Filler == nil {
		return 0xFF
	}
	return *q.Filler
}

func (q Quirks) signTooLongSW() apdu.SW {
	if q.SignTooLongSW == 0 {
		return apdu.SWWrongLength
	}
	return q.SignTooLongSW
}

// Options configures a Card. The zero value is a default card.
type Options struct {
	// Profile is used when the card is generated (New, or Open of a
	// missing state file).
	Profile Profile
	// Quirks is used when the card is generated; an existing state file
	// keeps its own (change them with SetQuirks).
	Quirks Quirks
	// Device is what answers as the JPKI applet: the card (default) or a
	// smartphone credential. It is not stored in the state file: the same
	// keys and PINs can be served as either.
	Device Device
	// ATR overrides DefaultATR.
	ATR []byte
	// LatencyAPDU is added to every command (a contact card takes about
	// 15 ms); LatencySign is added to every signature (about 500 ms).
	LatencyAPDU, LatencySign time.Duration
	// MaxResponse caps the data of one READ BINARY answer (a reader or
	// card that answers fewer bytes than Le asks, seen in a diagnose
	// report); 0 means the full short Le (256).
	MaxResponse int
	// Trace, when set, receives one line per command and response.
	// VERIFY and CHANGE REFERENCE DATA data and the signature
	// certificate's bytes are redacted.
	Trace io.Writer
	// Timeout is how long a transport waits for a silent card (fault
	// injection) before it returns cardos.ErrTimeout; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used for certificate validity; nil means time.Now.
	Now func() time.Time
	// Sleep waits out LatencyAPDU and LatencySign; nil means time.Sleep.
	// Tests set it to record the latencies instead of waiting for them.
	Sleep func(time.Duration)
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}
