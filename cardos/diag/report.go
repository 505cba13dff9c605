package diag

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReportFormat is the version of the report's JSON layout.
const ReportFormat = 1

// Report is what `myna-pkcs11 diagnose` writes: the system, the readers,
// every APDU of the standard probe (no data bytes), and what the module
// concluded. It never holds a PIN, the signature certificate or anything
// derived from it, the holder's name, address, birth date or sex, or the
// token serial number.
type Report struct {
	Format int `json:"format"`
	// Created is the UTC time of the run (RFC 3339).
	Created string `json:"created"`
	// Module is the module's library version; Go the toolchain.
	Module string `json:"module_version"`
	Go     string `json:"go_version"`
	// OS, OSRelease (PRETTY_NAME of /etc/os-release), Kernel (uname -r).
	OS        string `json:"os"`
	OSRelease string `json:"os_release,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	// Packages holds the versions of pcscd, libccid and libpcsclite1
	// (dpkg-query), "not installed" when absent.
	Packages map[string]string `json:"packages,omitempty"`
	// Backend is "PC/SC" or the simulator.
	Backend string `json:"backend"`
	// Options are the diagnose flags used.
	Options ReportOptions `json:"options"`
	// Readers lists every reader, with the card's ATR and protocol.
	Readers []ReaderReport `json:"readers"`
	// Steps are the probe steps (PKCS#11 calls) with their results and
	// the APDUs each caused.
	Steps []Step `json:"steps"`
	// Tokens is what the module showed.
	Tokens []TokenReport `json:"tokens"`
	// APDUs and Events are the recording.
	APDUs  []APDU  `json:"apdus"`
	Events []Event `json:"events,omitempty"`
	// Conclusions are plain sentences: what went wrong, what looks
	// unusual.
	Conclusions []string `json:"conclusions"`
}

// ReportOptions are the flags of the run.
type ReportOptions struct {
	IncludePublic bool   `json:"include_public"`
	Sign          bool   `json:"sign"`
	Reader        string `json:"reader,omitempty"`
}

// ReaderReport is one reader.
type ReaderReport struct {
	Name     string `json:"name"`
	Present  bool   `json:"card_present"`
	ATR      string `json:"atr,omitempty"`
	ATRKnown string `json:"atr_known_as,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Err      string `json:"error,omitempty"`
}

// Step is one PKCS#11 call of the probe.
type Step struct {
	Name string `json:"name"`
	// Result is CKR_OK or the CKR_ name of the error.
	Result string `json:"result"`
	// Detail is a short public description of the answer.
	Detail string `json:"detail,omitempty"`
	// FirstAPDU and LastAPDU are the Seq range the step sent (0 when
	// none).
	FirstAPDU int `json:"first_apdu"`
	LastAPDU  int `json:"last_apdu"`
}

// TokenReport is one token the module showed.
type TokenReport struct {
	Slot   uint   `json:"slot"`
	Reader string `json:"reader"`
	Label  string `json:"label"`
	// Credential names what the token belongs to ("My Number Card",
	// "smartphone certificate (Android)").
	Credential string   `json:"credential"`
	Flags      []string `json:"flags"`
	MinPinLen  uint     `json:"min_pin_len"`
	MaxPinLen  uint     `json:"max_pin_len"`
	// Objects lists class and label of each object visible without
	// login.
	Objects []string `json:"objects"`
}

// knownATRs names the ATRs of cardos/jpki/FACTS.md §10.1.
var knownATRs = map[string]string{
	"3BE000FF8131FE4514":                     "JPKI (contact)",
	"3BDA13FF8131FB468012392F31C173C601C03B": "JPKI (02, contact)",
	"3BC5FF8131FB458073C6010000":             "JPKI (03, contact)",
	"3BF59100FF918171FE400042000100D1D6":     "JPKI (04, contact)",
	"3BF59100FF918171FE4000420001B3A115":     "JPKI (05, contact)",
	"3B888001000005E0B381A1007F":             "JPKI (06, contactless)",
	"3B888001000041E0B381A1003B":             "JPKI (07, contactless)",
	"3B888001004B51FF0081D100BC":             "JPKI (08, contactless)",
	"3B888001004B51FFB381D1000F":             "JPKI (09, contactless)",
}

// ATRName names a known ATR, or "".
func ATRName(atr []byte) string {
	return knownATRs[strings.ToUpper(hex.EncodeToString(atr))]
}

// WriteFile writes the report as indented JSON (mode 0644: it holds
// nothing secret, and is meant to be attached to a bug report).
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteFile.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is not a diagnose report: %w", path, err)
	}
	if r.Format != ReportFormat {
		return nil, fmt.Errorf("%s: report format %d, this program reads format %d", path, r.Format, ReportFormat)
	}
	return &r, nil
}

// Summary writes the readable summary.
func (r *Report) Summary(w io.Writer) {
	fmt.Fprintf(w, "myna-pkcs11 diagnose report (%s)\n", r.Created)
	fmt.Fprintf(w, "module %s, %s, %s %s %s\n", r.Module, r.Go, r.OS, r.OSRelease, r.Kernel)
	for _, p := range []string{"pcscd", "libccid", "libpcsclite1"} {
		if v, ok := r.Packages[p]; ok {
			fmt.Fprintf(w, "  %-13s %s\n", p, v)
		}
	}
	fmt.Fprintf(w, "back end: %s\n", r.Backend)
	fmt.Fprintf(w, "readers:\n")
	for _, rd := range r.Readers {
		switch {
		case rd.Err != "":
			fmt.Fprintf(w, "  %s: %s\n", rd.Name, rd.Err)
		case !rd.Present:
			fmt.Fprintf(w, "  %s: no card\n", rd.Name)
		default:
			known := rd.ATRKnown
			if known == "" {
				known = "not in the list of known JPKI ATRs"
			}
			fmt.Fprintf(w, "  %s: ATR %s (%s), %s\n", rd.Name, rd.ATR, known, rd.Protocol)
		}
	}
	fmt.Fprintf(w, "probe:\n")
	for _, s := range r.Steps {
		apdus := "no APDU"
		if s.FirstAPDU > 0 {
			apdus = fmt.Sprintf("APDUs %d-%d", s.FirstAPDU, s.LastAPDU)
		}
		fmt.Fprintf(w, "  %-34s %-26s %s %s\n", s.Name, s.Result, apdus, s.Detail)
	}
	fmt.Fprintf(w, "tokens:\n")
	for _, t := range r.Tokens {
		fmt.Fprintf(w, "  slot %d %q: %s; PIN %d-%d; %d objects before login\n", t.Slot, t.Label, strings.Join(t.Flags, "|"), t.MinPinLen, t.MaxPinLen, len(t.Objects))
	}
	fmt.Fprintf(w, "%d APDUs recorded (headers, lengths, status words and timing only):\n", len(r.APDUs))
	for _, a := range r.APDUs {
		le := "-"
		if a.Le >= 0 {
			le = fmt.Sprint(a.Le)
		}
		resp := "withheld"
		if a.RespLen >= 0 {
			resp = fmt.Sprint(a.RespLen)
		}
		fmt.Fprintf(w, "  %3d %s %-12s %-20s Lc %-3d Le %-4s -> %-8s %s %6.1f ms %s\n", a.Seq, a.Header, a.Command, a.Target, a.Lc, le, resp, a.SW, a.DurMS, a.Err)
	}
	for _, c := range r.Conclusions {
		fmt.Fprintf(w, "- %s\n", c)
	}
}
