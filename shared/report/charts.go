package report

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The charts are SVG drawn here, as numbers the page (page.go) places: no script, no library, nothing
// fetched. Every chart's figures are also in a table beside it, for screen
// readers and for copying.

// Chart geometry, in SVG user units (the SVG scales to the page's width).
const (
	chartWidth    = 640 // the trend
	barChartWidth = 440 // a bar chart: two fit side by side
	labelWidth    = 170 // the label column of a bar chart
	barAreaWidth  = 215 // then the bars; the value follows the bar
	barPitch      = 26  // one bar's row
	barThickness  = 18
	maxLabelChars = 22 // longer labels are cut in the chart (the table has them whole)
)

// bar is one labelled value of a horizontal bar chart.
type bar struct {
	Label, Short string // Short is Label cut to fit the chart
	Value        int64
	Segments     []segment // the bar's parts, left to right
	Y, TextY     int
	ValueX       int
	Display      string // the value as shown
}

// segment is one coloured part of a bar.
type segment struct {
	X, Width int
	Class    string
	Value    int64
}

// barChart is a horizontal bar chart: one row per bar, scaled to the largest total.
type barChart struct {
	Bars          []bar
	Width, Height int
	LabelWidth    int
	Empty         bool // no bars, or every one zero
}

// series is one part of a stacked bar, its values by bar.
type series struct {
	Class  string
	Values []int64
}

// newBarChart lays out labels with one series (class "s0") or several stacked.
func newBarChart(labels []string, parts ...series) barChart {
	c := barChart{Width: barChartWidth, LabelWidth: labelWidth, Height: max(1, len(labels))*barPitch + 8}
	totals := make([]int64, len(labels))
	var largest int64
	for i := range labels {
		for _, s := range parts {
			totals[i] += s.Values[i]
		}
		largest = max(largest, totals[i])
	}
	c.Empty = largest == 0
	for i, label := range labels {
		b := bar{Label: label, Short: shorten(chartLabel(label), maxLabelChars), Value: totals[i], Display: formatInt(totals[i])}
		b.Y = 4 + i*barPitch
		b.TextY = b.Y + barThickness - 4
		x := labelWidth
		for _, s := range parts {
			w := scale(s.Values[i], largest, barAreaWidth)
			if w > 0 {
				b.Segments = append(b.Segments, segment{X: x, Width: w, Class: s.Class, Value: s.Values[i]})
			}
			x += w
		}
		b.ValueX = x + 6
		c.Bars = append(c.Bars, b)
	}
	return c
}

// scale maps v of largest onto width units; any value above zero shows at least 2 units.
func scale(v, largest int64, width int) int {
	if v <= 0 || largest <= 0 {
		return 0
	}
	return max(2, int(v*int64(width)/largest))
}

// chartLabel is what a chart shows of a label: of an ARN, its resource (role/crm-sync), which
// tells principals apart where the account and partition do not.
func chartLabel(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndexByte(s, ':'); i >= 0 && i < len(s)-1 {
			return s[i+1:]
		}
	}
	return s
}

// shorten cuts s to n runes, ending with "…" when cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// counted is one label and its count, for a table and a chart.
type counted struct {
	Label string
	Value int64
}

// sumCounts adds up one map of every profile (by_type, by_source, …).
func sumCounts(ps []Profile, field func(Profile) map[string]int64) map[string]int64 {
	sums := map[string]int64{}
	for _, p := range ps {
		for k, v := range field(p) {
			sums[k] += v
		}
	}
	return sums
}

// sortCounts orders a map's counts largest first, then by label.
func sortCounts(m map[string]int64) []counted {
	out := make([]counted, 0, len(m))
	for k, v := range m {
		out = append(out, counted{k, v})
	}
	slices.SortFunc(out, func(a, b counted) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out
}

func countsChart(cs []counted) barChart {
	labels := make([]string, len(cs))
	values := make([]int64, len(cs))
	for i, c := range cs {
		labels[i], values[i] = c.Label, c.Value
	}
	return newBarChart(labels, series{Class: "s0", Values: values})
}

// trendDay is one day of the trend: its summary, or none stored (or none the caller may see).
type trendDay struct {
	Date    string
	Summary *Summary
}

// column is one day's bar of the trend chart.
type column struct {
	Date, Label string // Label: MM-DD under every fifth column and the last
	Anchor      string // the label's text-anchor: the last one ends at its column
	X, Y, Width int
	Height      int
	Value       int64
	Missing     bool
	Current     bool
	LabelX      int
}

// trendChart is the vertical bar chart of leads per day.
type trendChart struct {
	Columns       []column
	Width, Height int
	Baseline      int
	Max           string
	Empty         bool
}

const (
	trendHeight = 180 // the bars' area
	trendTop    = 16  // room for the scale's label
)

func newTrendChart(days []trendDay, current string) trendChart {
	c := trendChart{Width: chartWidth, Height: trendTop + trendHeight + 24, Baseline: trendTop + trendHeight}
	var largest int64
	for _, d := range days {
		if d.Summary != nil {
			largest = max(largest, d.Summary.LeadsTotal)
		}
	}
	c.Empty = largest == 0
	c.Max = formatInt(largest)
	pitch := chartWidth / max(1, len(days))
	for i, d := range days {
		col := column{Date: d.Date, X: i*pitch + 2, Width: max(1, pitch-4), Current: d.Date == current}
		switch {
		case i == len(days)-1:
			col.Label, col.Anchor, col.LabelX = d.Date[5:], "end", col.X+col.Width
		case i%5 == 0 && i < len(days)-3:
			col.Label, col.Anchor, col.LabelX = d.Date[5:], "start", col.X
		}
		if d.Summary == nil {
			col.Missing = true
			col.Height = 2
		} else {
			col.Value = d.Summary.LeadsTotal
			col.Height = scale(col.Value, largest, trendHeight)
		}
		col.Y = c.Baseline - col.Height
		c.Columns = append(c.Columns, col)
	}
	return c
}
