package wcsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds a create or edit body.
const maxBody = 1 << 20

// params are the parameters of a create or edit request, whatever its encoding.
type params struct {
	scalars    map[string]string
	additional map[string]string // nil when the request has no additional_fields
	custom     map[string]string // nil when the request has no custom_fields
}

func (p *params) has(name string) bool {
	_, ok := p.scalars[name]
	return ok
}

func (p *params) get(name string) string { return strings.TrimSpace(p.scalars[name]) }

// readParams reads the body of a POST as application/x-www-form-urlencoded, multipart/form-data or
// application/json. Query-string parameters of a POST are ignored: WhatConverts takes lead data in
// the body, and lead data in a URL would end up in access logs.
func readParams(w http.ResponseWriter, r *http.Request) (*params, *apiError) {
	p := &params{scalars: map[string]string{}}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, readError(err)
		}
		v, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, badRequest("The request body could not be parsed.")
		}
		p.addValues(v)
	case "multipart/form-data":
		r.Body = body
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, readError(err)
		}
		defer r.MultipartForm.RemoveAll()
		p.addValues(r.MultipartForm.Value)
	case "application/json":
		if err := p.addJSON(body); err != nil {
			return nil, err
		}
	case "":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, readError(err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			return nil, badRequest("Unsupported content type.")
		}
	default:
		return nil, badRequest("Unsupported content type.")
	}
	return p, nil
}

func readError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return badRequest("The request body is too large.")
	}
	return badRequest("The request body could not be parsed.")
}

// addValues takes form values; additional_fields[Name] and custom_fields[Name] bracket keys fill the
// maps. A repeated name counts by its first value.
func (p *params) addValues(v url.Values) {
	for name, vals := range v {
		if len(vals) == 0 {
			continue
		}
		p.add(name, vals[0])
	}
}

func (p *params) add(name, value string) {
	if m, key, ok := p.bracket(name); ok {
		if _, seen := (*m)[key]; !seen {
			(*m)[key] = value
		}
		return
	}
	if _, seen := p.scalars[name]; !seen {
		p.scalars[name] = value
	}
}

// bracket resolves "additional_fields[Name]" / "custom_fields[Name]" to the map and key to fill.
func (p *params) bracket(name string) (*map[string]string, string, bool) {
	for prefix, m := range map[string]*map[string]string{"additional_fields[": &p.additional, "custom_fields[": &p.custom} {
		if key, ok := strings.CutPrefix(name, prefix); ok && strings.HasSuffix(key, "]") {
			key = strings.TrimSuffix(key, "]")
			if key == "" {
				return nil, "", false
			}
			if *m == nil {
				*m = map[string]string{}
			}
			return m, key, true
		}
	}
	return nil, "", false
}

// addJSON takes a JSON object body. Scalars become text (null becomes ""); additional_fields and
// custom_fields may be objects (or [] for none); bracket keys work as in forms.
func (p *params) addJSON(body io.Reader) *apiError {
	d := json.NewDecoder(body)
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return badRequest("The request body is too large.")
		}
		return badRequest("The request body is not a JSON object.")
	}
	if obj == nil {
		return badRequest("The request body is not a JSON object.")
	}
	for name, v := range obj {
		if name == "additional_fields" || name == "custom_fields" {
			m := &p.additional
			if name == "custom_fields" {
				m = &p.custom
			}
			switch v := v.(type) {
			case map[string]any:
				if *m == nil {
					*m = map[string]string{}
				}
				for key, fv := range v {
					(*m)[key] = jsonText(fv)
				}
				continue
			case []any:
				if len(v) == 0 {
					if *m == nil {
						*m = map[string]string{}
					}
					continue
				}
			}
			return badRequest("Invalid " + name + ": expected an object of field names to values.")
		}
		p.add(name, jsonText(v))
	}
	return nil
}

// jsonText renders a JSON value as a form would carry it.
func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	b, _ := encodeValue(v)
	return string(b)
}
