package table

import (
	"math/rand/v2"
	"testing"
	"time"
)

// SortTime is written out by hand; it must say exactly what time.Format says with TimeLayout, in
// every zone, at the edges of the fields and at random instants.
func TestSortTimeIsTheLayout(t *testing.T) {
	zone := time.FixedZone("UTC-7", -7*3600)
	times := []time.Time{
		time.Date(2026, 12, 2, 19, 36, 17, 123456789, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 3, 8, 1, 2, 3, 4, zone),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for range 10000 {
		times = append(times, time.Unix(rng.Int64N(4102444800), rng.Int64N(1e9)).In(zone))
	}
	for _, tm := range times {
		if got, want := SortTime(tm), tm.UTC().Format(TimeLayout); got != want {
			t.Errorf("SortTime(%v) = %q, want %q", tm, got, want)
		}
	}
}
