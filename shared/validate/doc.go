// Package validate is how every wcbridge function checks its input: query and path parameters,
// request bodies and webhook bodies. It parses into typed values and answers every problem as one
// invalid_request error that names each offending field and never echoes a value, because values
// are PHI (contract, "Errors").
//
// One way to use it: decode the body (if any), collect with a Problems, return Err.
//
//	obj, err := validate.DecodeObject(body) // err is already an invalid_request *apierr.Error
//	if err != nil {
//		return err
//	}
//	var p validate.Problems
//	p.OnlyFields(obj, updateFields)          // every unknown key, named, sorted
//	p.Require(obj, "profile_id")             // absent or null → "is required"
//	profileID, _ := p.IDField(obj, "profile_id")
//	leadID := p.ID("lead_id", req.PathParameters["lead_id"])
//	quote, hasQuote := p.MoneyField(obj, "quote_value")
//	if err := p.Err(); err != nil {
//		return err // *apierr.Error, code invalid_request, Fields = every problem
//	}
//
// Text parsers (p.X(field, raw string)) check a string as given; field readers
// (p.XField(o Object, field)) read a member of a decoded object, treat an absent member and JSON
// null alike as not present (WhatConverts sends null for unknown values) and record nothing for
// it, and return (value, ok) where ok means present and valid. Requiredness is separate: Require
// for object members, Required for anything else. A field gets at most one problem, the first.
//
// What each parser accepts (the problem text it records otherwise):
//
//   - ID, IDField: a positive integer that fits int64, digits only: no sign (not even '+'), no
//     leading zero, no spaces, no fraction or exponent ("1.0", "1e3" and 1.5 are refused), no hex.
//     From an object it must be a JSON number. ("must be a positive integer")
//   - Int, IntField: an integer from min to max, same canonical form, '-' allowed.
//     ("must be an integer from MIN to MAX")
//   - Email, EmailField: an address that net/mail parses as exactly itself (no display name, angle
//     brackets, comments, quoted local part or surrounding space), exactly one '@', a local part of
//     at most 64 bytes, a domain of at least two dot-separated labels (letters, digits, inner
//     hyphens; non-ASCII letters allowed; the last label not all digits; no IP literal), no
//     control, space or invisible characters, valid UTF-8, at most 254 bytes. Returned as given
//     (not lower-cased). ("must be an email address of at most 254 characters")
//   - Phone, PhoneField: E.164, '+' then 8 to 15 digits, the first 1-9.
//     ("must be an E.164 phone number (+ and 8 to 15 digits)")
//   - Money, MoneyField: JSON number text (RFC 8259 grammar) whose exact decimal value is a whole
//     number of cents from 0 to 1,000,000,000,000.00. Computed from the digits, never through a
//     float: "12.5" and "1.250" are 12.50, "1e2" is 100.00, "0.125" and "1e-3" are refused, "-0"
//     and every negative are refused, "1e400" is too large. From an object it must be a JSON
//     number. Money.String renders two decimals ("12.50") for WhatConverts' form posts.
//     ("must be a non-negative number with at most 2 decimals", "must be at most 1000000000000")
//   - URL, URLField: an absolute URL, scheme http or https (so javascript:, data:, ftp: and
//     relative URLs are refused), written with "//" and a host, no userinfo, a port (if any) from
//     1 to 65535, no spaces, control or invisible characters or backslashes, valid UTF-8, at most
//     2048 bytes. Returned as given.
//     ("must be an absolute http(s) URL of at most 2048 characters")
//   - DateTime, DateTimeField: RFC 3339 date-time YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), upper-
//     case T and Z, 1 to 9 fraction digits, a real date and time, offset at most 23:59; returned in
//     UTC. This is what WhatConverts sends (date_created, last_updated: "2016-02-01T14:09:01Z").
//     ("must be an RFC 3339 date-time")
//   - Date, DateField: a calendar date YYYY-MM-DD (the report's date, and the date-only form
//     WhatConverts' start_date and end_date accept), as its midnight UTC.
//     ("must be a date (YYYY-MM-DD)")
//   - LeadType(Field): appointment, chat, email, event, other, phone_call, text_message,
//     transaction, web_form (WhatConverts' request values, case-sensitive).
//   - Quotable(Field): yes, no, pending, not_set (Create Lead). QuotableYesNo(Field): yes, no
//     (Update Lead). Trigger(Field): new, update (the webhook's trigger). OneOf(Field): any list.
//     ("must be one of: a, b, …")
//   - StringField, NumberField, BoolField, ObjectField: the JSON type only ("must be a string",
//     "must be a number", "must be true or false", "must be an object"); ObjectField reads an
//     empty array as an empty object, as WhatConverts sends empty lead_analysis and
//     additional_fields.
//   - OnlyFields: every key not in the allow-list ("is not an allowed field"), named, sorted.
//
// DecodeObject takes a body that must be one JSON object and refuses invalid JSON, another top
// level, invalid UTF-8 (and unpaired surrogate escapes), duplicate keys at any depth and nesting
// deeper than MaxDepth (32), all as invalid_request "body must be a JSON object". It keeps unknown
// members (webhooks keep them) and does not limit size: the 256 KiB body limit is enforced before.
package validate
