package abi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeConf writes a configuration file and points MYNA_PKCS11_CONF at it.
func writeConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "myna-pkcs11.conf")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	t.Setenv("MYNA_PKCS11_CONF", path)
	return path
}

// tokenLabels initialises the module and returns the labels of the tokens
// of the slots listed, in order.
func tokenLabels(t *testing.T) []string {
	t.Helper()
	initialize(t)
	var labels []string
	for _, present := range []bool{true, false} {
		list, err := ctx.GetSlotList(present)
		require.NoError(t, err)
		if !present {
			assert.Len(t, list, len(labels), "slots with and without tokens agree")
			break
		}
		for _, s := range list {
			ti, err := ctx.GetTokenInfo(s)
			require.NoError(t, err)
			labels = append(labels, ti.Label)
		}
	}
	return labels
}

func TestConfigTokensAndReaders(t *testing.T) {
	both := []string{"My Number Card (Auth)", "My Number Card (Sign)"}
	auth := []string{"My Number Card (Auth)"}
	tests := []struct {
		name string
		conf string            // file contents ("" = empty file)
		env  map[string]string // variables
		want []string
	}{
		{"default", "", nil, both},
		{"MYNA_PKCS11_TOKENS=auth", "", map[string]string{"MYNA_PKCS11_TOKENS": "auth"}, auth},
		{"MYNA_PKCS11_TOKENS=sign", "", map[string]string{"MYNA_PKCS11_TOKENS": "sign"}, []string{"My Number Card (Sign)"}},
		{"tokens = auth in the file", "# for the browser\ntokens = auth\n", nil, auth},
		{"the variable overrides the file", "tokens = auth\n", map[string]string{"MYNA_PKCS11_TOKENS": "auth,sign"}, both},
		{"a bad variable keeps the file's", "tokens = auth\n", map[string]string{"MYNA_PKCS11_TOKENS": "everything"}, auth},
		{"a bad file value keeps the default", "tokens = pin\n", nil, both},
		{"readers matching the simulator", "readers = Simulator\n", nil, both},
		{"readers matching nothing", "readers = ACS ACR\n", nil, nil},
		{"MYNA_PKCS11_READERS overrides the file", "readers = ACS ACR\n", map[string]string{"MYNA_PKCS11_READERS": "Myna Sim"}, both},
		{"MYNA_PKCS11_READERS matching nothing", "", map[string]string{"MYNA_PKCS11_READERS": "Gemalto"}, nil},
		{"readers and tokens together", "readers = Myna\ntokens = auth\n", nil, auth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hermeticConfig(t)
			writeConf(t, tc.conf)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			freshCard(t, cardA)
			assert.Equal(t, tc.want, tokenLabels(t))
		})
	}
}

// A hidden sign token cannot be reached by its slot ID either.
func TestConfigHiddenSignSlotIsInvalid(t *testing.T) {
	hermeticConfig(t)
	freshCard(t, cardA)
	initialize(t)
	_, sign := slots(t)
	require.NoError(t, ctx.Finalize())

	t.Setenv("MYNA_PKCS11_TOKENS", "auth")
	initialize(t)
	_, err := ctx.GetTokenInfo(sign)
	assert.Equal(t, ckErr(pkcs11.CKR_SLOT_ID_INVALID), err)
	_, err = ctx.OpenSession(sign, pkcs11.CKF_SERIAL_SESSION)
	assert.Equal(t, ckErr(pkcs11.CKR_SLOT_ID_INVALID), err)
}

// log_level and log_file in the file turn the log on; a mistake in the
// file is logged with the file, line and key, and C_Initialize succeeds.
func TestConfigFileLogKeys(t *testing.T) {
	hermeticConfig(t)
	freshCard(t, cardA)
	logPath := filepath.Join(t.TempDir(), "module.log")
	conf := writeConf(t, "log_level = 3\nlog_file = "+logPath+"\n\ncolour = blue\nlog_level = 7\n")
	tokenLabels(t)
	require.NoError(t, ctx.Finalize())
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	log := string(b)
	assert.Contains(t, log, conf+":4: colour: unknown key")
	assert.Contains(t, log, conf+`:5: log_level: "7" is not a log level 0 to 3`)
	assert.Contains(t, log, "call C_GetSlotList(tokenPresent=CK_TRUE) = CKR_OK", "log_level = 3 kept")
	assert.Equal(t, 1, strings.Count(log, "call C_Finalize("))

	// MYNA_PKCS11_DEBUG=0 turns the file's log off.
	require.NoError(t, os.Remove(logPath))
	t.Setenv("MYNA_PKCS11_DEBUG", "0")
	tokenLabels(t)
	require.NoError(t, ctx.Finalize())
	assert.NoFileExists(t, logPath)
}
