package p11

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func traceModule(t *testing.T, level int) (*Module, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.log")
	m, _ := configModule(t, Config{AuthToken: true, SignToken: true, LogLevel: level, LogFile: path}, "Reader A")
	return m, path
}

func TestTraceOnlyAtLevel3(t *testing.T) {
	for level := LogOff; level < LogTrace; level++ {
		m, _ := traceModule(t, level)
		assert.Nil(t, m.Trace(), "level %d", level)
	}
	var tr *Trace
	tr.End(time.Time{}, "nothing") // a nil Trace does nothing
}

func TestTraceSurvivesFinalize(t *testing.T) {
	m, path := traceModule(t, LogTrace)
	tr := m.Trace()
	require.NotNil(t, tr)
	require.NoError(t, m.Finalize())
	tr.End(time.Time{}, "C_Finalize(NULL) = CKR_OK")
	assert.Nil(t, m.Trace(), "the log is closed after the last traced call")
	tr.End(time.Time{}, "written twice") // a second End does nothing

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	assert.Contains(t, last, "call C_Finalize(NULL) = CKR_OK (")
	assert.Regexp(t, `^myna-pkcs11 \d\d:\d\d:\d\d\.\d\d\d call `, last)
	assert.NotContains(t, string(b), "written twice")
}

func TestRoundDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{999, "999ns"},
		{1234, "1.23µs"},
		{12345, "12.3µs"},
		{123456, "123µs"},
		{1234567, "1.23ms"},
		{12345678912, "12.3s"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, roundDuration(tc.in).String(), "%d", int64(tc.in))
	}
}
