package report

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{9, 1, 5}, 5},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"repeats", []float64{7, 7, 1}, 7},
	} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("%s: Median(%v) = %v, want %v", tc.name, tc.xs, got, tc.want)
		}
	}
}

func TestMedianLeavesInputAlone(t *testing.T) {
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("Median sorted its argument: %v", xs)
	}
}

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs       []float64
		want     Spread
		rel      float64
		wide     bool
		formatMs string
	}{
		{"narrow", []float64{830, 824, 833}, Spread{830, 824, 833, 3}, 9.0 / 830, false, "830 ms (824–833)"},
		{"exactly 20 % is not wide", []float64{90, 100, 110}, Spread{100, 90, 110, 3}, 0.2, false, "100 ms (90–110)"},
		{"wide", []float64{45, 53, 87}, Spread{53, 45, 87, 3}, 42.0 / 53, true, "53 ms (45–87)"},
		{"zero median", []float64{0, 0, 4}, Spread{0, 0, 4, 3}, 0, false, "0 ms (0–4)"},
		{"none", nil, Spread{}, 0, false, "0 ms (0–0)"},
	} {
		s := SpreadOf(tc.xs)
		if s != tc.want {
			t.Errorf("%s: SpreadOf(%v) = %+v, want %+v", tc.name, tc.xs, s, tc.want)
		}
		if math.Abs(s.Rel()-tc.rel) > 1e-12 {
			t.Errorf("%s: Rel = %v, want %v", tc.name, s.Rel(), tc.rel)
		}
		if s.Wide() != tc.wide {
			t.Errorf("%s: Wide = %v, want %v", tc.name, s.Wide(), tc.wide)
		}
		if got := s.Ms(); got != tc.formatMs {
			t.Errorf("%s: Ms() = %q, want %q", tc.name, got, tc.formatMs)
		}
	}
}

func TestSpreadFormat(t *testing.T) {
	s := SpreadOf([]float64{8075, 7284, 10527}).Scale(1.0 / 1000)
	for _, tc := range []struct{ verb, unit, want string }{
		{"%.1f", "ms", "8.1 ms (7.3–10.5)"},
		{"%.3f", "", "8.075 (7.284–10.527)"},
	} {
		if got := s.Format(tc.verb, tc.unit); got != tc.want {
			t.Errorf("Format(%q, %q) = %q, want %q", tc.verb, tc.unit, got, tc.want)
		}
	}
}

func TestPerRound(t *testing.T) {
	got := PerRound(3, func(i int) float64 { return float64(i * i) })
	if len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 4 {
		t.Errorf("PerRound = %v, want [0 1 4]", got)
	}
}
