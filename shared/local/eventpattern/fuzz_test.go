package eventpattern_test

import (
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/eventpattern"
)

// FuzzCompileAndMatch: no pattern and no event makes Compile or Match panic, and matching is
// deterministic.
func FuzzCompileAndMatch(f *testing.F) {
	f.Add([]byte(`{"source": ["aws.ec2"], "detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`), []byte(rulerEvent))
	f.Add([]byte(`{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "x": [{"exists": false}]}}`), []byte(rulerEvent))
	f.Add([]byte(`{"$or": [{"a": [null]}, {"b": {"c": [{"equals-ignore-case": "X"}]}}]}`), []byte(`{"a": [[1], {"b": 2}], "b": [{"c": "x"}]}`))
	f.Add([]byte(`{"detail": {"quotable": [{"anything-but": "Yes"}], "has_quote_value": [true]}}`), []byte(`{"detail": {"quotable": "No", "has_quote_value": true}}`))
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := eventpattern.Compile(pattern)
		if err != nil {
			return
		}
		first, err1 := p.Match(event)
		second, err2 := p.Match(event)
		if first != second || (err1 == nil) != (err2 == nil) {
			t.Fatalf("Match is not deterministic: %v/%v, %v/%v", first, second, err1, err2)
		}
		if err1 != nil && first {
			t.Fatal("Match reported a match and an error")
		}
	})
}
