package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

// Tokens (as in test/sharedcard/proto) and their keys.
const (
	tokAuth = "auth"
	tokSign = "sign"
)

var (
	tokens   = []string{tokAuth, tokSign}
	keyIDHex = map[string]string{tokAuth: "01", tokSign: "02"}
	keyEF    = map[string]uint16{tokAuth: efAuthKey, tokSign: efSignKey}
	maxTries = map[string]int{tokAuth: 3, tokSign: 5}
)

// other returns the other token.
func other(tok string) string {
	if tok == tokAuth {
		return tokSign
	}
	return tokAuth
}

// tries is the retry counters of both PINs.
type tries map[string]int

func (t tries) String() string {
	return fmt.Sprintf("auth %d of 3, sign %d of 5", t[tokAuth], t[tokSign])
}

// readTries reads the retry counters from the simulator's state file, which
// the simulator rewrites (atomically, by rename) at every change; it is
// what `myna-sim --status` prints.
func readTries(state string) (tries, error) {
	b, err := os.ReadFile(state)
	if err != nil {
		return nil, err
	}
	var st struct {
		Auth *int `json:"auth_tries"`
		Sign *int `json:"sign_tries"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Auth == nil || st.Sign == nil {
		return nil, fmt.Errorf("%s: no auth_tries/sign_tries (%v)", state, err)
	}
	return tries{tokAuth: *st.Auth, tokSign: *st.Sign}, nil
}

var statusRe = map[string]*regexp.Regexp{
	tokAuth: regexp.MustCompile(`(?m)^auth PIN: +(\d+) of 3 tries left`),
	tokSign: regexp.MustCompile(`(?m)^sign password: +(\d+) of 5 tries left`),
}

// statusTries runs `myna-sim --status` (output captured, then parsed).
func statusTries(sim, state string) (tries, error) {
	out, err := exec.Command(sim, "--status", "--state", state).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("myna-sim --status: %v: %s", err, out)
	}
	t := tries{}
	for tok, re := range statusRe {
		m := re.FindSubmatch(out)
		if m == nil {
			return nil, fmt.Errorf("myna-sim --status: no %s counter in %q", tok, out)
		}
		t[tok], _ = strconv.Atoi(string(m[1]))
	}
	return t, nil
}

// loadPub reads the RSA public key of a PEM certificate.
func loadPub(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: not PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return k, nil
}

// checkSig says what is wrong with sig as tok's SHA256-RSA-PKCS signature
// of msg: it must verify with tok's certificate and not with the other's.
func checkSig(pubs map[string]*rsa.PublicKey, tok string, msg, sig []byte) string {
	h := sha256.Sum256(msg)
	okWant := rsa.VerifyPKCS1v15(pubs[tok], crypto.SHA256, h[:], sig) == nil
	okOther := rsa.VerifyPKCS1v15(pubs[other(tok)], crypto.SHA256, h[:], sig) == nil
	switch {
	case okOther:
		return fmt.Sprintf("the %s signature was made by the %s KEY (verifies with the %s certificate)", tok, other(tok), other(tok))
	case !okWant:
		return fmt.Sprintf("the %s signature (%d bytes) does not verify with the %s certificate", tok, len(sig), tok)
	}
	return ""
}
