package httpapi

import (
	"encoding/base64"
	"errors"
	"mime"
	"strings"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// MaxBody is the largest request body accepted, after base64 decoding (the contract's 413).
const MaxBody = 256 << 10

var errBase64 = errors.New("httpapi: body is not valid base64")

// messageNotObject is validate.MessageNotObject, the one message of a body that is not a JSON object,
// written out so that the functions that do not parse bodies do not link (and initialise) validate.
const messageNotObject = "body must be a JSON object"

// JSONBody is the body of a request that must carry JSON, checked in this order:
//
//   - Content-Type application/json, with no parameter but a charset of utf-8 (JSON is UTF-8,
//     RFC 8259): else 415 unsupported_media_type;
//   - at most MaxBody bytes once decoded from the base64 API Gateway uses for binary media types,
//     refused by its encoded length before anything large is decoded: else 413 payload_too_large;
//   - valid base64 when encoded: else 400 invalid_request.
//
// With a 415 the body is still returned, if it is within the limit, for the caller's audit record;
// with the others it is nil. Whether the bytes are a JSON object is the caller's check (validate.DecodeObject).
func JSONBody(req Request) ([]byte, error) {
	if !isJSON(Header(req, "Content-Type")) {
		body, _ := decode(req)
		return body, apierr.New(apierr.UnsupportedMediaType, "the body must be application/json")
	}
	return decode(req)
}

func decode(req Request) ([]byte, error) {
	tooLarge := apierr.New(apierr.PayloadTooLarge, "the body must be at most 256 KiB")
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBody {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBody+2 { // +2: DecodedLen counts padding
		return nil, tooLarge
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, apierr.Wrap(errBase64, apierr.InvalidRequest, messageNotObject)
	}
	if len(body) > MaxBody {
		return nil, tooLarge
	}
	return body, nil
}

func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}
