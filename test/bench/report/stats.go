package report

import (
	"fmt"
	"slices"
)

// wideSpread is the spread (max − min) beyond which a row is flagged, as
// a fraction of its median.
const wideSpread = 0.20

// Median returns the median of xs (the mean of the middle two for an
// even count, as Python's statistics.median), 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Spread is the median, minimum and maximum of repeated measurements.
type Spread struct {
	Median, Min, Max float64
	N                int
}

// SpreadOf returns the Spread of xs.
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	return Spread{Median(xs), slices.Min(xs), slices.Max(xs), len(xs)}
}

// Rel returns max − min as a fraction of the median (0 for a zero
// median).
func (s Spread) Rel() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Median
}

// Wide reports whether the spread exceeds wideSpread of the median.
func (s Spread) Wide() bool { return s.Rel() > wideSpread }

// Scale returns s with every figure multiplied by k (k > 0).
func (s Spread) Scale(k float64) Spread {
	return Spread{s.Median * k, s.Min * k, s.Max * k, s.N}
}

// Format prints "median unit (min–max)" with the verb (e.g. "%.0f") for
// each figure; unit may be empty.
func (s Spread) Format(verb, unit string) string {
	m := fmt.Sprintf(verb, s.Median)
	if unit != "" {
		m += " " + unit
	}
	return fmt.Sprintf("%s ("+verb+"–"+verb+")", m, s.Min, s.Max)
}

// Ms prints a spread of milliseconds: "830 ms (824–833)".
func (s Spread) Ms() string { return s.Format("%.0f", "ms") }

// PerRound returns f(i) for every round i < n.
func PerRound(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}
