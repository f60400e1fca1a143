// Package budget keeps the daily WhatConverts request budget of each API key in the shared DynamoDB table.
//
// WhatConverts allows 1,000 requests a day on a profile key and 10,000 on a master key, reset at 00:00 UTC,
// and refuses further requests until then. Every Lambda instance spends the same allowance, so the count
// lives in the table, not in memory: one conditional UpdateItem per request (ADD count 1 if count < limit)
// both spends a unit and refuses once the limit is reached, in a single write, with no read first and no
// race between instances. A refused spend carries the time until the next reset, so that callers can be
// answered 503 with Retry-After before WhatConverts itself would refuse.
//
// A caller may spend against a lower limit than the key's (the daily report passes its share), which keeps
// the rest of the day's budget for the actions that share the key.
//
// Keys are stored by KeyID, a hash of the API token: the table never holds a token or a secret.
package budget
