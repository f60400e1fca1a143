package whatconverts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	testToken  = "1001-0123456789abcdef"
	testSecret = "fedcba9876543210fedcba9876543210"
	masterTok  = "2001-aaaabbbbccccdddd"
	masterSec  = "99998888777766665555444433332222"
)

func TestParseCredentials(t *testing.T) {
	c, err := ParseCredentials([]byte(`{"profiles": {"1001": {"token": "` + testToken + `", "secret": "` + testSecret + `"}},
		"master": {"token": "` + masterTok + `", "secret": "` + masterSec + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Profiles[1001]; got.Token != testToken || got.Secret != testSecret {
		t.Fatalf("profile 1001 key not read")
	}
	if c.Master == nil || c.Master.Token != masterTok || c.Master.Secret != masterSec {
		t.Fatal("master key not read")
	}
}

func TestParseCredentialsErrorsNameFieldsNotValues(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantField string
	}{
		{"missing secret", `{"profiles": {"1001": {"token": "` + testToken + `"}}}`, "profiles.1001.secret"},
		{"empty token", `{"profiles": {"1001": {"token": "", "secret": "` + testSecret + `"}}}`, "profiles.1001.token"},
		{"master without secret", `{"master": {"token": "` + masterTok + `"}}`, "master.secret"},
		{"profile id not a number", `{"profiles": {"abc": {"token": "` + testToken + `", "secret": "` + testSecret + `"}}}`, "positive profile ID"},
		{"zero profile id", `{"profiles": {"0": {"token": "` + testToken + `", "secret": "` + testSecret + `"}}}`, "positive profile ID"},
		{"no key at all", `{}`, "neither"},
		{"unknown field", `{"profiles": {"1001": {"token": "` + testToken + `", "secret": "` + testSecret + `", "secert": "x"}}}`, `"secert"`},
		{"secret of the wrong type", `{"profiles": {"1001": {"token": "` + testToken + `", "secret": 12345678}}}`, "profiles.1001.secret"},
		{"not JSON, secret inside", `{"profiles": {"1001": {"token": "` + testToken + `", "secret": ` + testSecret + `}}}`, "not valid JSON"},
		{"colon in token", `{"profiles": {"1001": {"token": "a:` + testToken + `", "secret": "` + testSecret + `"}}}`, "profiles.1001.token"},
		{"trailing data", `{"master": {"token": "` + masterTok + `", "secret": "` + masterSec + `"}} {}`, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCredentials([]byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantField) {
				t.Errorf("error %q does not name %q", msg, tc.wantField)
			}
			for _, v := range []string{testToken, testSecret, masterTok, masterSec, "0123456789abcdef", "fedcba98"} {
				if strings.Contains(msg, v) {
					t.Errorf("error %q quotes a credential value", msg)
				}
			}
		})
	}
}

func TestCredentialsForPrefersTheProfileKey(t *testing.T) {
	master := Key{Token: masterTok, Secret: masterSec}
	c := Credentials{Profiles: map[int64]Key{1001: {Token: testToken, Secret: testSecret}}, Master: &master}
	for _, tc := range []struct {
		name       string
		creds      Credentials
		profile    int64
		wantToken  string
		wantMaster bool
		wantErr    bool
	}{
		{"own key", c, 1001, testToken, false, false},
		{"master key for another profile", c, 1002, masterTok, true, false},
		{"no master, no key", Credentials{Profiles: c.Profiles}, 1002, "", false, true},
		{"profile id must be positive", c, 0, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.creds.For(tc.profile)
			if tc.wantErr {
				var nc *NoCredentialsError
				if !errors.Is(err, ErrNoCredentials) || !errors.As(err, &nc) || nc.ProfileID != tc.profile {
					t.Fatalf("err = %v, want a NoCredentialsError for %d", err, tc.profile)
				}
				if a := APIError(err); a.Code != "invalid_request" || a.Fields[0].Field != "profile_id" {
					t.Fatalf("APIError = %+v, want invalid_request on profile_id", a)
				}
				return
			}
			if err != nil || k.Key.Token != tc.wantToken || k.Master != tc.wantMaster || k.ProfileID != tc.profile {
				t.Fatalf("For(%d) = %+v, %v", tc.profile, k, err)
			}
		})
	}
}

func TestKeysNeverPrintTheirSecrets(t *testing.T) {
	k := Key{Token: testToken, Secret: testSecret}
	c := Credentials{Profiles: map[int64]Key{1001: k}, Master: &Key{Token: masterTok, Secret: masterSec}}
	kf, _ := c.For(1001)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("creds", "key", k, "credentials", c, "for", kf)
	js, err := json.Marshal(map[string]any{"k": k, "kp": &k})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v key": fmt.Sprintf("%v", k), "%+v key": fmt.Sprintf("%+v", k), "%#v key": fmt.Sprintf("%#v", k),
		"%s key": fmt.Sprintf("key %s", k), "%v ptr": fmt.Sprintf("%v", &k),
		"%v creds": fmt.Sprintf("%v", c), "%+v creds": fmt.Sprintf("%+v", c), "%#v creds": fmt.Sprintf("%#v", c),
		"%v for": fmt.Sprintf("%v", kf), "%+v for": fmt.Sprintf("%+v", kf), "%#v for": fmt.Sprintf("%#v", kf),
		"%v profiles": fmt.Sprintf("%v", c.Profiles), "%+v master": fmt.Sprintf("%+v", *c.Master),
		"json": string(js), "slog": logs.String(),
	}
	for name, out := range outputs {
		for _, v := range []string{testToken, testSecret, masterTok, masterSec} {
			if strings.Contains(out, v) {
				t.Errorf("%s prints a credential: %s", name, out)
			}
		}
	}
	if !strings.Contains(outputs["%v key"], k.ID()) {
		t.Errorf("%%v of a key should show its id to tell keys apart: %s", outputs["%v key"])
	}
}
