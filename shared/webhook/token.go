package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
)

// Tokens are the live webhook tokens (the current one, and the previous one while rotating), kept
// only as SHA-256 digests. Comparing digests rather than the tokens gives every comparison the same
// 32-byte length, so neither a token's length nor its prefix leaks through timing, and the tokens
// themselves are not kept in memory for a heap dump to show.
type Tokens struct {
	digests [][sha256.Size]byte
}

// ErrNoTokens is returned for an empty token list: a webhook without a credential must not start.
var ErrNoTokens = errors.New("webhook: no live webhook token configured")

// NewTokens keeps the digests of the live tokens (config.ParseTokens has checked count and length).
func NewTokens(live []string) (Tokens, error) {
	if len(live) == 0 {
		return Tokens{}, ErrNoTokens
	}
	t := Tokens{digests: make([][sha256.Size]byte, 0, len(live))}
	for _, s := range live {
		if s == "" {
			return Tokens{}, ErrNoTokens
		}
		t.digests = append(t.digests, sha256.Sum256([]byte(s)))
	}
	return t, nil
}

// Valid reports whether presented is one of the live tokens, in time that depends on neither the
// presented token nor which live token it matches: every live digest is compared, always.
func (t Tokens) Valid(presented string) bool {
	if presented == "" || len(t.digests) == 0 {
		return false
	}
	d := sha256.Sum256([]byte(presented))
	match := 0
	for i := range t.digests {
		match |= subtle.ConstantTimeCompare(d[:], t.digests[i][:])
	}
	return match == 1
}
