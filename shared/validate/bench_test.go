package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The webhook path decodes every body with DecodeObject; these compare it with what encoding/json
// does for the same body without the checks (duplicates, UTF-8, depth).

func fixtureBody(b *testing.B) []byte {
	wd, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(wd, "..", "..", "..", "shared", "fixtures", "webhook-new-phone-call.json"))
	if err != nil {
		b.Fatalf("the webhook fixture is missing (the shared/ folder beside the repository): %v", err)
	}
	return body
}

func BenchmarkDecodeObject(b *testing.B) {
	body := fixtureBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeObject(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalRawMap(b *testing.B) {
	body := fixtureBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
}
