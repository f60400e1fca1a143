// Package eventpattern matches events against Amazon EventBridge event patterns, so that `make dev` and
// the tests route lead events through the template's rules exactly as the deployed bus would.
//
// It implements the part of EventBridge's pattern language that rules use, as AWS documents it
// ("Amazon EventBridge event patterns", "Content filtering in Amazon EventBridge event patterns",
// "Arrays in Amazon EventBridge event patterns", "Matching null values and empty strings"):
//
//   - A pattern is a JSON object with the event's nesting. Every field it names must match (AND);
//     fields it does not name are ignored.
//   - A field's value is either a nested object or a non-empty array of values, any of which may match
//     (OR). A value is a string, number, true, false or null, matched exactly: strings character for
//     character, numbers by their JSON text (AWS: 300, 300.0 and 3.0e2 are not equal), null only null
//     ("" and null are different).
//   - Operators, one per object in the array: {"prefix": s}, {"prefix": {"equals-ignore-case": s}},
//     {"suffix": s}, {"suffix": {"equals-ignore-case": s}}, {"equals-ignore-case": s},
//     {"anything-but": v} with v a string, a number, a list of only strings or only numbers, or
//     {"prefix"|"suffix"|"equals-ignore-case": s or [s, …]}, {"exists": true|false}, and
//     {"numeric": [op, n]} or {"numeric": [lower-op, n, upper-op, n]} with op one of = < <= > >=.
//   - "$or": [{…}, {…}, …] (two or more objects) at any level: at least one alternative must match.
//   - An array in the event matches when any of its elements does; arrays of arrays are flattened. A
//     nested pattern under an array of objects must match within one element (EventBridge's
//     array-consistent matching): {"a": {"b": ["x"], "c": ["y"]}} does not match
//     {"a": [{"b": "x"}, {"c": "y"}]}.
//   - Only leaves (strings, numbers, booleans, null) are values. A field that is absent, an object or
//     an empty array has no value: only {"exists": false} matches it. In particular anything-but does
//     not match an absent field (it does match null), and prefix, suffix and equals-ignore-case match
//     strings only, numeric numbers only.
//
// Compile refuses what EventBridge refuses (an empty object or value list, a scalar where an array is
// required, an unknown operator, a mixed anything-but list, a malformed numeric range, numbers outside
// ±5e9) with an error naming the field. Not implemented, and refused as unknown operators: cidr and
// wildcard matching.
//
// Errors from Match never contain a value from the event: events may carry PHI even where the
// contract says they do not.
package eventpattern
