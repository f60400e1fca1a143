package eventpattern_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/eventpattern"
)

func TestCompileRefusesMalformedPatternsNamingTheField(t *testing.T) {
	cases := []struct {
		name, pattern, wantInMessage string
	}{
		{"not JSON", `{"source": [`, "not valid JSON"},
		{"trailing data", `{"source": ["a"]} {}`, "not valid JSON"},
		{"not an object", `["aws.ec2"]`, "must be a JSON object"},
		{"an empty pattern", `{}`, "empty objects"},
		{"an empty nested object", `{"detail": {}}`, "detail: empty objects"},
		{"a scalar where a value list belongs", `{"source": "aws.ec2"}`, "source: must be an object"},
		{"an empty value list", `{"detail": {"state": []}}`, "detail.state: empty arrays"},
		{"an array inside a value list", `{"source": [["a"]]}`, "source[0]: a value must be"},
		{"an operator object with two keys", `{"a": [{"prefix": "x", "suffix": "y"}]}`, "a[0]: an operator object must have exactly one key"},
		{"an unknown operator", `{"a": [{"contains": "x"}]}`, `a[0]: unknown operator "contains"`},
		{"cidr is not supported", `{"ip": [{"cidr": "10.0.0.0/24"}]}`, `unknown operator "cidr"`},
		{"wildcard is not supported", `{"f": [{"wildcard": "*.png"}]}`, `unknown operator "wildcard"`},
		{"prefix of a number", `{"a": [{"prefix": 1}]}`, "prefix takes a string"},
		{"prefix with an unknown option", `{"a": [{"prefix": {"ignore-case": "x"}}]}`, "prefix takes a string"},
		{"equals-ignore-case of a list", `{"a": [{"equals-ignore-case": ["x"]}]}`, "equals-ignore-case takes a string"},
		{"exists of a string", `{"a": [{"exists": "true"}]}`, "exists takes true or false"},
		{"anything-but of a mixed list", `{"a": [{"anything-but": ["x", 1]}]}`, "only strings or only numbers"},
		{"anything-but of null", `{"a": [{"anything-but": null}]}`, "anything-but takes"},
		{"anything-but of a boolean list", `{"a": [{"anything-but": [true]}]}`, "only strings or only numbers"},
		{"anything-but of an empty list", `{"a": [{"anything-but": []}]}`, "at least one value"},
		{"anything-but with an empty prefix", `{"a": [{"anything-but": {"prefix": ""}}]}`, "must not be empty"},
		{"anything-but with an unknown operator", `{"a": [{"anything-but": {"numeric": [">", 1]}}]}`, `not "numeric"`},
		{"numeric with an odd list", `{"a": [{"numeric": [">", 0, "<"]}]}`, "numeric takes"},
		{"numeric with a string operand", `{"a": [{"numeric": [">", "0"]}]}`, "must be a number"},
		{"numeric with an unknown operator", `{"a": [{"numeric": ["!=", 0]}]}`, `unknown operator "!="`},
		{"numeric with two lower bounds", `{"a": [{"numeric": [">", 0, ">=", 1]}]}`, "at most one lower bound"},
		{"numeric = combined", `{"a": [{"numeric": ["=", 0, "<", 1]}]}`, "cannot be combined"},
		{"numeric with bounds the wrong way round", `{"a": [{"numeric": [">", 5, "<", 1]}]}`, "lower bound must be below"},
		{"numeric beyond 5e9", `{"a": [{"numeric": [">", 6e9]}]}`, "outside the supported range"},
		{"$or with one alternative", `{"$or": [{"a": ["x"]}]}`, "at least two alternatives"},
		{"$or with a non-object", `{"$or": [{"a": ["x"]}, ["b"]]}`, "$or[1]: each $or alternative must be an object"},
		{"an error deep in $or", `{"$or": [{"a": ["x"]}, {"b": []}]}`, "$or[1].b: empty arrays"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(c.pattern))
			if err == nil {
				t.Fatalf("Compile accepted %s", c.pattern)
			}
			if p != nil {
				t.Error("a failed Compile returned a pattern")
			}
			if !errors.Is(err, eventpattern.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.wantInMessage) {
				t.Errorf("error %q does not say %q", err, c.wantInMessage)
			}
		})
	}
}

func TestCompileAcceptsEveryOperatorForm(t *testing.T) {
	for _, p := range []string{
		`{"a": ["s", 1, 2.5, -3e2, true, false, null]}`,
		`{"a": [{"prefix": "x"}, {"prefix": {"equals-ignore-case": "X"}}, {"prefix": ""}]}`,
		`{"a": [{"suffix": "x"}, {"suffix": {"equals-ignore-case": "X"}}]}`,
		`{"a": [{"equals-ignore-case": "x"}]}`,
		`{"a": [{"anything-but": "x"}, {"anything-but": 1}, {"anything-but": ["x", "y"]}, {"anything-but": [1, 2]}]}`,
		`{"a": [{"anything-but": {"prefix": "x"}}, {"anything-but": {"suffix": ["x", "y"]}}, {"anything-but": {"equals-ignore-case": ["X"]}}]}`,
		`{"a": [{"exists": true}, {"exists": false}]}`,
		`{"a": [{"numeric": ["=", 1]}, {"numeric": ["<=", 5e9]}, {"numeric": ["<", 5, ">=", 1]}, {"numeric": [">=", 5, "<=", 5]}]}`,
		`{"$or": [{"a": ["x"]}, {"b": {"c": ["y"]}}], "d": {"$or": [{"e": ["1"]}, {"f": ["2"]}]}}`,
	} {
		if _, err := eventpattern.Compile([]byte(p)); err != nil {
			t.Errorf("Compile(%s): %v", p, err)
		}
	}
}

func TestMatchRefusesWhatIsNotAnObjectWithoutQuotingIt(t *testing.T) {
	p := eventpattern.MustCompile(`{"source": ["x"]}`)
	for _, ev := range []string{`not json {"email": "pat@example.com"}`, `["pat@example.com"]`, `"pat@example.com"`, ``, `{"a": 1} {"b": 2}`} {
		ok, err := p.Match([]byte(ev))
		if ok || !errors.Is(err, eventpattern.ErrEvent) {
			t.Errorf("Match(%q) = %v, %v; want false, ErrEvent", ev, ok, err)
		}
		if err != nil && strings.Contains(err.Error(), "example.com") {
			t.Errorf("the error quotes the event: %v", err)
		}
	}
}

func TestMatchValueTakesDecodedEvents(t *testing.T) {
	p := eventpattern.MustCompile(`{"detail": {"lead_id": [42], "ok": [true]}}`)
	var ev any
	if err := json.Unmarshal([]byte(`{"detail": {"lead_id": 42, "ok": true}}`), &ev); err != nil {
		t.Fatal(err)
	}
	// Plain Unmarshal gives float64: exact numbers still match their shortest text.
	if ok, err := p.MatchValue(ev); !ok || err != nil {
		t.Errorf("MatchValue = %v, %v; want true", ok, err)
	}
	if _, err := p.MatchValue([]any{}); !errors.Is(err, eventpattern.ErrEvent) {
		t.Errorf("MatchValue of an array: err = %v, want ErrEvent", err)
	}
}

func TestMatchingDetails(t *testing.T) {
	runExamples(t, []example{
		{"true matches the JSON literal, not the string", `{"a": [true]}`, `{"a": "true"}`, false},
		{"the JSON literal true", `{"a": [true]}`, `{"a": true}`, true},
		{"false is not true", `{"a": [true]}`, `{"a": false}`, false},
		{"an exact string does not match an object", `{"a": ["x"]}`, `{"a": {"b": "x"}}`, false},
		{"exists: true does not match an object (not a leaf)", `{"a": [{"exists": true}]}`, `{"a": {"b": 1}}`, false},
		{"exists: true matches null (present)", `{"a": [{"exists": true}]}`, `{"a": null}`, true},
		{"exists: false does not match null (present)", `{"a": [{"exists": false}]}`, `{"a": null}`, false},
		{"exists: false matches an empty array (no leaf)", `{"a": [{"exists": false}]}`, `{"a": []}`, true},
		{"exists: false under an absent parent", `{"a": {"b": [{"exists": false}]}}`, `{"c": 1}`, true},
		{"exists: false under a scalar parent", `{"a": {"b": [{"exists": false}]}}`, `{"a": "x"}`, true},
		{"exists: true under an absent parent", `{"a": {"b": [{"exists": true}]}}`, `{"c": 1}`, false},
		{"exists alongside values: either may match", `{"a": [{"exists": false}, "x"]}`, `{"a": "x"}`, true},
		{"anything-but a string list does not exclude numbers", `{"a": [{"anything-but": ["1"]}]}`, `{"a": 1}`, true},
		{"anything-but a number list does not exclude strings", `{"a": [{"anything-but": [1]}]}`, `{"a": "1"}`, true},
		{"anything-but numbers compares values", `{"a": [{"anything-but": [100]}]}`, `{"a": 1e2}`, false},
		{"anything-but a prefix matches a number", `{"a": [{"anything-but": {"prefix": "1"}}]}`, `{"a": 12}`, true},
		{"anything-but over an array: an element that is not excluded matches", `{"a": [{"anything-but": "x"}]}`, `{"a": ["x", "y"]}`, true},
		{"anything-but over an array of only excluded values", `{"a": [{"anything-but": "x"}]}`, `{"a": ["x", "x"]}`, false},
		{"anything-but over an empty array (no value)", `{"a": [{"anything-but": "x"}]}`, `{"a": []}`, false},
		{"anything-but over an object (no value)", `{"a": [{"anything-but": "x"}]}`, `{"a": {"b": "y"}}`, false},
		{"equals-ignore-case over Unicode", `{"a": [{"equals-ignore-case": "ÉCOLE"}]}`, `{"a": "école"}`, true},
		{"prefix equals-ignore-case is a prefix", `{"a": [{"prefix": {"equals-ignore-case": "ABC"}}]}`, `{"a": "ab"}`, false},
		{"numeric on a number-like string", `{"a": [{"numeric": [">", 0]}]}`, `{"a": "5"}`, false},
		{"numeric >= includes the bound", `{"a": [{"numeric": [">=", 5]}]}`, `{"a": 5}`, true},
		{"numeric < excludes the bound", `{"a": [{"numeric": ["<", 5]}]}`, `{"a": 5}`, false},
		{"numeric over an array: any element", `{"a": [{"numeric": [">", 10]}]}`, `{"a": [1, 20]}`, true},
		{"numbers match by text: 300 and 3.0e2 differ", `{"a": [300]}`, `{"a": 3.0e2}`, false},
		{"numbers match by text: the same text", `{"a": [3.0e2]}`, `{"a": 3.0e2}`, true},
		{"unknown event fields are ignored", `{"a": ["x"]}`, `{"a": "x", "b": {"c": [1, 2, {"d": null}]}}`, true},
		{"$or nested under a field", `{"d": {"$or": [{"e": ["1"]}, {"f": ["2"]}]}}`, `{"d": {"f": "2"}}`, true},
		{"$or nested under a field, neither", `{"d": {"$or": [{"e": ["1"]}, {"f": ["2"]}]}}`, `{"d": {"f": "3"}}`, false},
		{"$or and other fields: all must hold", `{"s": ["x"], "$or": [{"e": ["1"]}, {"f": ["2"]}]}`, `{"s": "y", "e": "1"}`, false},
	})
}
