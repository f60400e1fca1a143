package whatconverts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/wcbridge/wcbridge/shared/budget"
)

// Key is one WhatConverts API key: the token is the Basic-auth user name, the secret its password.
// It never prints either: String, GoString, LogValue and MarshalJSON show only its KeyID.
type Key struct {
	Token  string
	Secret string
}

// ID is the key's budget.KeyID, which names it in the budget table and in diagnostics without revealing it.
func (k Key) ID() string { return budget.KeyID(k.Token) }

func (k Key) redacted() string {
	if k.Token == "" && k.Secret == "" {
		return "whatconverts.Key{}"
	}
	return "whatconverts.Key{id: " + k.ID() + ", token: [redacted], secret: [redacted]}"
}

// String redacts the key.
func (k Key) String() string { return k.redacted() }

// GoString redacts the key (%#v).
func (k Key) GoString() string { return k.redacted() }

// LogValue redacts the key in slog output.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.redacted()) }

// MarshalJSON redacts the key: a Key is never serialized with its token or secret.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"id": k.ID(), "token": "[redacted]", "secret": "[redacted]"})
}

// Credentials are the WhatConverts keys wcbridge holds: a key per profile, and optionally an account's master
// key, which reaches any profile of its account when given profile_id.
type Credentials struct {
	Profiles map[int64]Key
	Master   *Key
}

// String redacts every key.
func (c Credentials) String() string {
	ids := make([]string, 0, len(c.Profiles))
	for id := range c.Profiles {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	sort.Strings(ids)
	return fmt.Sprintf("whatconverts.Credentials{profiles: [%s], master: %t}", strings.Join(ids, " "), c.Master != nil)
}

// GoString redacts every key (%#v).
func (c Credentials) GoString() string { return c.String() }

// LogValue redacts every key in slog output.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// KeyFor is the key to use for one profile's requests.
type KeyFor struct {
	Key       Key
	ProfileID int64
	// Master says Key is the account's master key: requests then name ProfileID (profile_id), and the
	// master key's daily limit applies.
	Master bool
}

// String redacts the key.
func (k KeyFor) String() string {
	return fmt.Sprintf("whatconverts.KeyFor{profile: %d, master: %t, key: %s}", k.ProfileID, k.Master, k.Key)
}

// GoString redacts the key (%#v).
func (k KeyFor) GoString() string { return k.String() }

// ErrNoCredentials is matched (errors.Is) when no key reaches a profile.
var ErrNoCredentials = errors.New("no WhatConverts credentials for the profile")

// NoCredentialsError says which profile has no key.
type NoCredentialsError struct{ ProfileID int64 }

func (e *NoCredentialsError) Error() string {
	return fmt.Sprintf("whatconverts: no credentials for profile %d", e.ProfileID)
}

// Is makes errors.Is(err, ErrNoCredentials) true.
func (e *NoCredentialsError) Is(target error) bool { return target == ErrNoCredentials }

// For returns the key for profileID: the profile's own key if there is one (its 1,000 requests a day are
// its own), else the master key with profile_id, else a *NoCredentialsError.
func (c Credentials) For(profileID int64) (KeyFor, error) {
	if profileID <= 0 {
		return KeyFor{}, &NoCredentialsError{ProfileID: profileID}
	}
	if k, ok := c.Profiles[profileID]; ok {
		return KeyFor{Key: k, ProfileID: profileID}, nil
	}
	if c.Master != nil {
		return KeyFor{Key: *c.Master, ProfileID: profileID, Master: true}, nil
	}
	return KeyFor{}, &NoCredentialsError{ProfileID: profileID}
}

type keyJSON struct {
	Token  *string `json:"token"`
	Secret *string `json:"secret"`
}

type credentialsJSON struct {
	Profiles map[string]json.RawMessage `json:"profiles"`
	Master   json.RawMessage            `json:"master"`
}

// ParseCredentials reads the credentials secret:
//
//	{"profiles": {"1001": {"token": "…", "secret": "…"}}, "master": {"token": "…", "secret": "…"}}
//
// Both parts are optional but one is required. Errors name fields (profiles.1001.secret), never values:
// the input is a secret.
func ParseCredentials(b []byte) (Credentials, error) {
	var raw credentialsJSON
	if err := decodeStrict(b, &raw); err != nil {
		return Credentials{}, credentialsDecodeError("", err)
	}
	var c Credentials
	for name, rk := range raw.Profiles {
		id, err := strconv.ParseInt(name, 10, 64)
		if err != nil || id <= 0 || strconv.FormatInt(id, 10) != name {
			return Credentials{}, errors.New("credentials: profiles: every key must be a positive profile ID")
		}
		k, err := parseKey(rk, "profiles."+name)
		if err != nil {
			return Credentials{}, err
		}
		if c.Profiles == nil {
			c.Profiles = make(map[int64]Key, len(raw.Profiles))
		}
		c.Profiles[id] = k
	}
	if len(raw.Master) > 0 && string(bytes.TrimSpace(raw.Master)) != "null" {
		k, err := parseKey(raw.Master, "master")
		if err != nil {
			return Credentials{}, err
		}
		c.Master = &k
	}
	if len(c.Profiles) == 0 && c.Master == nil {
		return Credentials{}, errors.New("credentials: neither profiles nor master holds a key")
	}
	return c, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

var errTrailing = errors.New("trailing data after the JSON object")

func parseKey(b json.RawMessage, path string) (Key, error) {
	var kj keyJSON
	if err := decodeStrict(b, &kj); err != nil {
		return Key{}, credentialsDecodeError(path, err)
	}
	return kj.key(path)
}

func (kj keyJSON) key(path string) (Key, error) {
	switch {
	case kj.Token == nil || strings.TrimSpace(*kj.Token) == "":
		return Key{}, fmt.Errorf("credentials: %s.token is missing or empty", path)
	case kj.Secret == nil || strings.TrimSpace(*kj.Secret) == "":
		return Key{}, fmt.Errorf("credentials: %s.secret is missing or empty", path)
	case strings.ContainsAny(*kj.Token, ":\r\n"):
		// A colon would split the Basic-auth pair differently on the other side.
		return Key{}, fmt.Errorf("credentials: %s.token contains a colon or a line break", path)
	case strings.ContainsAny(*kj.Secret, "\r\n"):
		return Key{}, fmt.Errorf("credentials: %s.secret contains a line break", path)
	}
	return Key{Token: *kj.Token, Secret: *kj.Secret}, nil
}

// credentialsDecodeError describes a decode failure at path without quoting the input: encoding/json's
// syntax errors can quote a character of the secret.
func credentialsDecodeError(path string, err error) error {
	prefix := "credentials: "
	if path != "" {
		prefix += path + ": "
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTrailing):
		return errors.New(prefix + err.Error())
	case errors.As(err, &syn):
		return fmt.Errorf("credentials: not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		field := strings.TrimPrefix(path+"."+typ.Field, ".")
		if typ.Field == "" {
			field = path
		}
		if field == "" {
			field = "the secret"
		}
		return fmt.Errorf("credentials: %s must not be a JSON %s", field, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errors.New(prefix + strings.TrimPrefix(err.Error(), "json: "))
	default:
		return errors.New("credentials: not valid JSON")
	}
}
