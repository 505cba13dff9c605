package browserbench

import (
	"fmt"
	"os"
	"strings"
)

// ReadPINs reads the PIN file of a browser driver: one PIN per line, for
// successive PIN dialogs. An empty line is an empty PIN (Enter pressed on
// an empty field); the newline ending the last line starts no PIN, and a
// CR before a newline is dropped.
func ReadPINs(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s holds no PIN", path)
	}
	s := strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	return strings.Split(s, "\n"), nil
}
