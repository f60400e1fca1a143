package httpapi_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
)

func TestJSONBody(t *testing.T) {
	obj := `{"profile_id": 1001}`
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	big := `{"x": "` + strings.Repeat("x", httpapi.MaxBody) + `"}`
	exact := `"` + strings.Repeat("x", httpapi.MaxBody-2) + `"`
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		base64      bool
		want        string // the body returned
		code        apierr.Code
	}{
		{"application/json", "application/json", obj, false, obj, ""},
		{"a utf-8 charset, in any case", "application/json; charset=UTF-8", obj, false, obj, ""},
		{"a base64 body is decoded", "application/json", b64(obj), true, obj, ""},
		{"exactly 256 KiB", "application/json", exact, false, exact, ""},
		{"exactly 256 KiB once decoded", "application/json", b64(exact), true, exact, ""},
		{"text/plain: 415, the body kept for the record", "text/plain", obj, false, obj, apierr.UnsupportedMediaType},
		{"no content type", "", obj, false, obj, apierr.UnsupportedMediaType},
		{"form encoding", "application/x-www-form-urlencoded", "lead_id=1", false, "lead_id=1", apierr.UnsupportedMediaType},
		{"a charset other than UTF-8", "application/json; charset=latin1", obj, false, obj, apierr.UnsupportedMediaType},
		{"another parameter", "application/json; foo=bar", obj, false, obj, apierr.UnsupportedMediaType},
		{"the media type is checked before the size", "text/plain", big, false, "", apierr.UnsupportedMediaType},
		{"over 256 KiB", "application/json", big, false, "", apierr.PayloadTooLarge},
		{"over 256 KiB once decoded", "application/json", b64(big), true, "", apierr.PayloadTooLarge},
		{"invalid base64", "application/json", "not base64!", true, "", apierr.InvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httpapi.Request{Headers: map[string]string{"content-type": tc.contentType}, Body: tc.body, IsBase64Encoded: tc.base64}
			body, err := httpapi.JSONBody(req)
			if string(body) != tc.want {
				t.Fatalf("body %.40q, want %.40q", body, tc.want)
			}
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && apierr.From(err).Code != tc.code:
				t.Fatalf("error %v, want %s", err, tc.code)
			case tc.code == apierr.InvalidRequest && apierr.From(err).Message != validate.MessageNotObject:
				t.Fatalf("message %q, want validate's %q", apierr.From(err).Message, validate.MessageNotObject)
			}
		})
	}
}
