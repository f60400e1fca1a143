package wcsim

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// listQuery is a parsed GET /leads query.
type listQuery struct {
	perPage, page int
	descending    bool

	// Scope: the profiles the key may see, narrowed by a master key's account_id/profile_id.
	profileID, accountID int64 // 0 = any

	leadType, leadStatus, quotable string // display values; "" = any
	quoteValue, salesValue         string // "has_value", "no_value" or ""
	start, end                     time.Time
	hasStart, hasEnd, endIsDate    bool
	phone, email, userID           string
	spam, duplicate                *bool
	source, medium, campaign       string // lower-cased
	content, keyword               string // lower-cased
	customerJourney                bool
}

// parseListQuery validates a GET /leads query. Unknown parameters are ignored and an empty value
// counts as absent; a repeated parameter counts by its first value.
func (s *Sim) parseListQuery(q url.Values, k *apiKey) (listQuery, *apiError) {
	get := func(name string) string { return strings.TrimSpace(q.Get(name)) }
	lq := listQuery{perPage: DefaultLeadsPerPage, page: 1, descending: true}

	if v := get("leads_per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLeadsPerPage {
			return lq, badRequest("Leads per page must be a whole number from 1 to 2500.")
		}
		lq.perPage = n
	}
	if v := get("page_number"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return lq, badRequest("Page number must be a whole number of at least 1.")
		}
		lq.page = n
	}

	if k.master {
		if v := get("account_id"); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !k.accounts[id] {
				return lq, badRequest("Invalid account ID.")
			}
			lq.accountID = id
		}
		if v := get("profile_id"); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			s.mu.Lock()
			ok := err == nil && s.canSeeLocked(k, id)
			s.mu.Unlock()
			if !ok {
				return lq, badRequest("Invalid profile ID.")
			}
			lq.profileID = id
		}
	} else {
		// A profile key sees its profile only; account_id and profile_id are ignored.
		lq.profileID = k.profileID
	}

	enum := func(name string, values map[string]string, msg string) (string, *apiError) {
		v := get(name)
		if v == "" {
			return "", nil
		}
		d, ok := values[v]
		if !ok {
			return "", badRequest(msg)
		}
		return d, nil
	}
	var e *apiError
	if lq.leadType, e = enum("lead_type", leadTypes, "Invalid lead type."); e != nil {
		return lq, e
	}
	if lq.leadStatus, e = enum("lead_status", leadStatuses, "Invalid lead status."); e != nil {
		return lq, e
	}
	if lq.quotable, e = enum("quotable", quotables, "Invalid quotable value."); e != nil {
		return lq, e
	}
	valueFilter := map[string]string{"has_value": "has_value", "no_value": "no_value"}
	if lq.quoteValue, e = enum("quote_value", valueFilter, "Quote value must be has_value or no_value."); e != nil {
		return lq, e
	}
	if lq.salesValue, e = enum("sales_value", valueFilter, "Sales value must be has_value or no_value."); e != nil {
		return lq, e
	}
	if v := get("order"); v != "" {
		switch v {
		case "asc":
			lq.descending = false
		case "desc":
		default:
			return lq, badRequest("Order must be asc or desc.")
		}
	}

	if v := get("start_date"); v != "" {
		t, _, ok := parseDateParam(v)
		if !ok {
			return lq, badRequest("Invalid start date. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.")
		}
		lq.start, lq.hasStart = t, true
	}
	if v := get("end_date"); v != "" {
		t, dateOnly, ok := parseDateParam(v)
		if !ok {
			return lq, badRequest("Invalid end date. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.")
		}
		lq.end, lq.hasEnd, lq.endIsDate = t, true, dateOnly
	}
	if lq.hasStart && lq.hasEnd {
		if lq.end.Before(lq.start) {
			return lq, badRequest("Start date must be before end date.")
		}
		if lq.end.Sub(lq.start) > MaxDateRangeDays*24*time.Hour {
			return lq, badRequest("Date range cannot exceed 400 days.")
		}
	}

	boolean := func(name string) (*bool, *apiError) {
		switch get(name) {
		case "":
			return nil, nil
		case "true":
			t := true
			return &t, nil
		case "false":
			f := false
			return &f, nil
		}
		return nil, badRequest("Invalid " + name + " value. Use true or false.")
	}
	if lq.spam, e = boolean("spam"); e != nil {
		return lq, e
	}
	if lq.duplicate, e = boolean("duplicate"); e != nil {
		return lq, e
	}
	if cj, e := boolean("customer_journey"); e != nil {
		return lq, e
	} else if cj != nil {
		lq.customerJourney = *cj
	}

	lq.phone = get("phone_number")
	lq.email = strings.ToLower(get("email_address"))
	lq.userID = get("user_id")
	lq.source = strings.ToLower(get("lead_source"))
	lq.medium = strings.ToLower(get("lead_medium"))
	lq.campaign = strings.ToLower(get("lead_campaign"))
	lq.content = strings.ToLower(get("lead_content"))
	lq.keyword = strings.ToLower(get("lead_keyword"))
	return lq, nil
}

// parseDateParam reads an ISO 8601 UTC date (midnight) or date-time; dateOnly says which it was.
func parseDateParam(v string) (t time.Time, dateOnly, ok bool) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), false, true
	}
	return time.Time{}, false, false
}

// inScopeLocked reports whether the key and the query's account_id/profile_id admit the lead.
func (s *Sim) inScopeLocked(q *listQuery, k *apiKey, l *lead) bool {
	if q.profileID != 0 && l.profileID != q.profileID {
		return false
	}
	if !k.master {
		return true
	}
	p, ok := s.profiles[l.profileID]
	if !ok || !k.accounts[p.AccountID] {
		return false
	}
	return q.accountID == 0 || p.AccountID == q.accountID
}

// match applies the query's filters to a lead.
func (q *listQuery) match(l *lead) bool {
	x := &l.idx
	switch {
	case q.leadType != "" && x.leadType != q.leadType,
		q.leadStatus != "" && x.leadStatus != q.leadStatus,
		q.quotable != "" && !matchQuotable(x.quotable, q.quotable),
		q.quoteValue != "" && x.hasQuote != (q.quoteValue == "has_value"),
		q.salesValue != "" && x.hasSales != (q.salesValue == "has_value"),
		q.hasStart && l.created.Before(q.start),
		q.hasEnd && q.endIsDate && !l.created.Before(q.end.AddDate(0, 0, 1)),
		q.hasEnd && !q.endIsDate && l.created.After(q.end),
		q.phone != "" && x.phones[0] != q.phone && x.phones[1] != q.phone,
		q.email != "" && x.emails[0] != q.email && x.emails[1] != q.email,
		q.userID != "" && x.userID != q.userID,
		q.spam != nil && x.spam != *q.spam,
		q.duplicate != nil && x.duplicate != *q.duplicate,
		q.source != "" && x.source != q.source,
		q.medium != "" && x.medium != q.medium,
		q.campaign != "" && x.campaign != q.campaign,
		q.content != "" && x.content != q.content,
		q.keyword != "" && x.keyword != q.keyword:
		return false
	}
	return true
}

// matchQuotable treats a lead without a quotable value as "Not Set".
func matchQuotable(have, want string) bool {
	if have == "" {
		have = quotableNotSet
	}
	return have == want
}
