package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Scenario is one line of scenarios.jsonl or latency.jsonl: one run of a
// scenario (test/bench/scenario) by one module.
type Scenario struct {
	Module     string  `json:"module"` // "ours-inproc", "ours" or "opensc"
	Run        int     `json:"run"`
	Name       string  `json:"name"`
	Ms         float64 `json:"ms"`
	APDUs      int     `json:"apdus"`
	Signatures int     `json:"signatures"`
}

// LoadSample is one line of loadavg.txt: the machine's load averages
// sampled after the section Label (or at the start).
type LoadSample struct {
	Label                  string
	One, Five, FifteenMins float64
}

// Rate is one signature-rate measurement (driver signrate).
type Rate struct {
	Signatures int     `json:"signatures"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
}

// InProcRate is one line of rate-inproc.jsonl (driver inproc): the Go
// core in-process and the simulator's raw RSA, measured one after the
// other.
type InProcRate struct {
	Module Rate `json:"module"`
	RawSim Rate `json:"raw_sim"`
}

// LoadRun is one line of load.txt: one run of test/bench/loadtime.c.
type LoadRun struct {
	Module  string // "ours", "opensc" or "softhsm"
	Micros  float64
	RSSKiB  float64
	NoSlots int
}

// ScaleRow is one point of scale-*.json (driver scale).
type ScaleRow struct {
	Sessions      int     `json:"sessions"`
	FindUs        float64 `json:"find_us"`
	GetAttrUs     float64 `json:"get_attr_us"`
	OpenSessionUs float64 `json:"open_session_us"`
}

// Data is everything test/bench.sh measured, one field per raw file.
type Data struct {
	Scenarios    []Scenario   // scenarios.jsonl
	Latency      []Scenario   // latency.jsonl
	Loads        []LoadSample // loadavg.txt
	RateOurs     []Rate       // rate-ours.jsonl, one line per round
	RateInProc   []InProcRate // rate-inproc.jsonl, one line per round
	RateSoftHSM  []Rate       // rate-softhsm.jsonl, one line per round
	LoadRuns     []LoadRun    // load.txt
	ScaleOurs    []ScaleRow   // scale-ours.json
	ScaleSoftHSM []ScaleRow   // scale-softhsm.json
	GoBench      []string     // the Benchmark lines of gobench.txt
	Browsers     *Browsers    // browser-*.jsonl; nil when the run had none
}

// Load reads the raw files of the bench directory dir. Every file of
// sections 1 to 4 must be there; the browser files are optional (see
// LoadBrowsers).
func Load(dir string) (*Data, error) {
	d := &Data{}
	steps := []func() error{
		func() error { return readJSONL(dir, "scenarios.jsonl", &d.Scenarios) },
		func() error { return readJSONL(dir, "latency.jsonl", &d.Latency) },
		func() (err error) { d.Loads, err = readLoadAvg(filepath.Join(dir, "loadavg.txt")); return },
		func() error { return readJSONL(dir, "rate-ours.jsonl", &d.RateOurs) },
		func() error { return readJSONL(dir, "rate-inproc.jsonl", &d.RateInProc) },
		func() error { return readJSONL(dir, "rate-softhsm.jsonl", &d.RateSoftHSM) },
		func() (err error) { d.LoadRuns, err = readLoadRuns(filepath.Join(dir, "load.txt")); return },
		func() error { return readJSON(dir, "scale-ours.json", &d.ScaleOurs) },
		func() error { return readJSON(dir, "scale-softhsm.json", &d.ScaleSoftHSM) },
		func() (err error) { d.GoBench, err = readGoBench(filepath.Join(dir, "gobench.txt")); return },
		func() (err error) { d.Browsers, err = LoadBrowsers(dir); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// readJSONL appends one value to *out per non-empty line of dir/name.
func readJSONL[T any](dir, name string, out *[]T) error {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (did test/bench.sh run that section?)", err)
	}
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		*out = append(*out, v)
	}
	return nil
}

// readJSON decodes the single JSON value in dir/name into out.
func readJSON(dir, name string, out any) error {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (did test/bench.sh run that section?)", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// fields calls fn with the whitespace-separated fields of every non-empty
// line of path and its line number.
func fields(path string, fn func(no int, f []string) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (did test/bench.sh run that section?)", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for no := 1; sc.Scan(); no++ {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			if err := fn(no, f); err != nil {
				return fmt.Errorf("%s line %d: %w", path, no, err)
			}
		}
	}
	return sc.Err()
}

// readLoadAvg reads loadavg.txt: "LABEL WORDS... ONE FIVE FIFTEEN".
func readLoadAvg(path string) ([]LoadSample, error) {
	var out []LoadSample
	err := fields(path, func(_ int, f []string) error {
		if len(f) < 4 {
			return errors.New("want a label and three load averages")
		}
		n, err := floats(f[len(f)-3:])
		if err != nil {
			return err
		}
		out = append(out, LoadSample{strings.Join(f[:len(f)-3], " "), n[0], n[1], n[2]})
		return nil
	})
	return out, err
}

// readLoadRuns reads load.txt: "MODULE MICROSECONDS RSS_KIB SLOTS".
func readLoadRuns(path string) ([]LoadRun, error) {
	var out []LoadRun
	err := fields(path, func(_ int, f []string) error {
		if len(f) != 4 {
			return errors.New("want module, microseconds, peak RSS KiB and slots")
		}
		n, err := floats(f[1:])
		if err != nil {
			return err
		}
		out = append(out, LoadRun{f[0], n[0], n[1], int(n[2])})
		return nil
	})
	return out, err
}

// readGoBench returns the lines of path that start with "Benchmark",
// trailing space removed.
func readGoBench(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (did test/bench.sh run that section?)", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			out = append(out, strings.TrimRight(l, " \t\r"))
		}
	}
	return out, nil
}

func floats(f []string) ([]float64, error) {
	out := make([]float64, len(f))
	for i, s := range f {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// exists reports whether dir/name is there; any error other than "does
// not exist" is returned.
func exists(dir, name string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
