package webhook

import (
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	rotating, err := NewTokens([]string{tokenCurrent, tokenPrevious})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewTokens([]string{tokenCurrent}) // the previous token retired
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		tokens    Tokens
		presented string
		want      bool
	}{
		{"the current token is accepted", rotating, tokenCurrent, true},
		{"the second (rotating) token is accepted", rotating, tokenPrevious, true},
		{"a wrong token of the same length is refused", rotating, tokenCurrent[:len(tokenCurrent)-1] + "x", false},
		{"a prefix of a live token is refused", rotating, tokenCurrent[:32], false},
		{"a live token with more appended is refused", rotating, tokenCurrent + "c", false},
		{"a much longer token is refused", rotating, strings.Repeat(tokenCurrent, 100), false},
		{"a one-character token is refused", rotating, "c", false},
		{"a missing token is refused", rotating, "", false},
		{"a token retired by rotation is refused", rotated, tokenPrevious, false},
		{"a never-live token is refused", rotating, tokenRetired, false},
		{"after rotation the current token is still accepted", rotated, tokenCurrent, true},
		{"no configured tokens accept nothing", Tokens{}, tokenCurrent, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tokens.Valid(tc.presented); got != tc.want {
				t.Fatalf("Valid = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewTokensRefusesNoToken(t *testing.T) {
	for name, live := range map[string][]string{"none": nil, "an empty token": {tokenCurrent, ""}} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewTokens(live); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

// FuzzTokensValid: only the exact live tokens are ever accepted, whatever is presented.
func FuzzTokensValid(f *testing.F) {
	tokens, err := NewTokens([]string{tokenCurrent, tokenPrevious})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", tokenCurrent, tokenPrevious, tokenRetired, tokenCurrent[:10], "\x00", tokenCurrent + "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, presented string) {
		want := presented == tokenCurrent || presented == tokenPrevious
		if got := tokens.Valid(presented); got != want {
			t.Fatalf("Valid(%q) = %v, want %v", presented, got, want)
		}
	})
}
