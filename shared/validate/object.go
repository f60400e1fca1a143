package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"unicode/utf8"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// MaxDepth is how deeply objects and arrays may nest in a body, the top-level object counting as 1.
// WhatConverts' lead object nests 2 deep; the limit only has to stop pathological input.
const MaxDepth = 32

// MessageNotObject is the one message of every body DecodeObject refuses.
const MessageNotObject = "body must be a JSON object"

// Why DecodeObject refused a body. They are the cause (errors.Is) of its *apierr.Error, for logs
// and tests; callers are only ever shown MessageNotObject. None of them holds anything of the body.
var (
	ErrSyntax       = errors.New("validate: invalid JSON")
	ErrNotObject    = errors.New("validate: top level is not an object")
	ErrInvalidUTF8  = errors.New("validate: invalid UTF-8 or unpaired surrogate escape")
	ErrDuplicateKey = errors.New("validate: duplicate object key")
	ErrTooDeep      = errors.New("validate: nesting deeper than the limit")
)

// Object is the top level of a JSON object body: each key with its value's raw JSON text (without
// surrounding whitespace). Values share memory with the body given to DecodeObject, which must not
// be modified afterwards.
type Object map[string]json.RawMessage

// Has reports whether o holds field with a value other than null.
func (o Object) Has(field string) bool {
	raw, ok := o[field]
	return ok && !isNull(raw)
}

// Keys are o's keys, sorted.
func (o Object) Keys() []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// DecodeObject parses a request or webhook body that must be one JSON object. It refuses invalid
// JSON (RFC 8259), any top level other than an object, invalid UTF-8 (also unpaired UTF-16
// surrogate escapes such as "\ud800"), a key repeated in any object at any depth (which value a
// reader sees would be ambiguous), and nesting deeper than MaxDepth. Every refusal is an
// *apierr.Error with code invalid_request and the message MessageNotObject; its cause is one of
// the Err variables.
func DecodeObject(data []byte) (Object, error) {
	s := scanner{data: data}
	s.skipSpace()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return nil, refuse(ErrNotObject)
	}
	top := Object{}
	if err := s.object(1, top); err != nil {
		return nil, refuse(err)
	}
	s.skipSpace()
	if s.pos != len(data) {
		return nil, refuse(ErrSyntax)
	}
	return top, nil
}

func refuse(cause error) error {
	return apierr.Wrap(cause, apierr.InvalidRequest, MessageNotObject)
}

// scanner is a single-pass validating JSON reader: encoding/json's decoder neither refuses
// duplicate keys nor invalid UTF-8 (it substitutes U+FFFD) nor bounds depth below 10000, and
// walking json.Decoder tokens costs an allocation per token on the webhook path.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value scans one value starting at s.pos (after whitespace) that sits inside depth containers.
func (s *scanner) value(depth int) error {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return ErrSyntax
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, _, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	default:
		return ErrSyntax
	}
}

func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return ErrSyntax
	}
	s.pos += len(word)
	return nil
}

// object scans an object whose '{' is at s.pos and which is the depth-th nested container. When
// top is not nil it receives the members.
func (s *scanner) object(depth int, top Object) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	s.pos++ // '{'
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	// Duplicate detection for nested objects: a linear scan while small (no allocation for the
	// common case of a few keys), a set once large.
	var small []string
	var large map[string]struct{}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return ErrSyntax
		}
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		key, err := unquote(raw, escaped)
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return ErrSyntax
		}
		s.pos++
		s.skipSpace()
		start := s.pos
		if err := s.value(depth); err != nil {
			return err
		}
		switch {
		case top != nil:
			if _, dup := top[key]; dup {
				return ErrDuplicateKey
			}
			top[key] = json.RawMessage(s.data[start:s.pos:s.pos])
		case large != nil:
			if _, dup := large[key]; dup {
				return ErrDuplicateKey
			}
			large[key] = struct{}{}
		default:
			if slices.Contains(small, key) {
				return ErrDuplicateKey
			}
			small = append(small, key)
			if len(small) > 16 {
				large = make(map[string]struct{}, 2*len(small))
				for _, k := range small {
					large[k] = struct{}{}
				}
			}
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return ErrSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return ErrSyntax
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	s.pos++ // '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return ErrSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return ErrSyntax
		}
	}
}

// str scans a string whose opening quote is at s.pos and returns its raw text with the quotes, and
// whether it holds escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	start := s.pos
	i := s.pos + 1
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return s.data[start:s.pos], escaped, nil
		case c == '\\':
			escaped = true
			n, err := escape(s.data[i:])
			if err != nil {
				return nil, false, err
			}
			i += n
		case c < 0x20:
			return nil, false, ErrSyntax // control characters must be escaped
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(s.data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, ErrInvalidUTF8
			}
			i += size
		}
	}
	return nil, false, ErrSyntax // unterminated
}

// escape checks the escape sequence at the start of b (b[0] is '\\') and returns its length. A
// \u escape of a UTF-16 surrogate must be a high surrogate directly followed by a low one.
func escape(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, ErrSyntax
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, ErrSyntax
		}
		switch {
		case 0xDC00 <= r && r <= 0xDFFF:
			return 0, ErrInvalidUTF8 // low surrogate without a high one
		case 0xD800 <= r && r <= 0xDBFF:
			if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
				return 0, ErrInvalidUTF8
			}
			lo, ok := hex4(b[8:])
			if !ok {
				return 0, ErrSyntax
			}
			if lo < 0xDC00 || lo > 0xDFFF {
				return 0, ErrInvalidUTF8
			}
			return 12, nil
		}
		return 6, nil
	default:
		return 0, ErrSyntax
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unquote is the text of a scanned string (raw with its quotes). The scanner has checked the
// syntax and the surrogates, so json.Unmarshal neither fails nor substitutes anything here.
func unquote(raw []byte, escaped bool) (string, error) {
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", ErrSyntax
	}
	return v, nil
}

// number scans an RFC 8259 number at s.pos: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	n := numberLen(s.data[s.pos:])
	if n == 0 {
		return ErrSyntax
	}
	s.pos += n
	return nil
}

// numberLen is the length of the JSON number at the start of b, or 0 if b does not start with one.
// What follows the number is the caller's to check.
func numberLen[T ~string | ~[]byte](b T) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0
		}
		i = j
	}
	return i
}

func digits[T ~string | ~[]byte](b T, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
