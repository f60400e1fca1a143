package whatconverts

import (
	"context"
	"net/http"
	"testing"
)

func TestLeadsPagesThroughEveryPageLazily(t *testing.T) {
	f := newFakeAPI(t, pagedLeads(7))
	c := testClient(f)
	var ids []int64
	for l, err := range c.Leads(context.Background(), profileKey(), ListParams{LeadsPerPage: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.LeadID)
	}
	if len(ids) != 7 || ids[0] != 9000007 || ids[6] != 9000001 {
		t.Fatalf("leads %v, want 9000007..9000001", ids)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests for 7 leads in pages of 3, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Query.Get("page_number") != string(rune('1'+i)) || r.Query.Get("leads_per_page") != "3" {
			t.Errorf("request %d asked %v", i, r.Query)
		}
	}

	// Stopping early fetches no further page.
	f2 := newFakeAPI(t, pagedLeads(7))
	for range testClient(f2).Leads(context.Background(), profileKey(), ListParams{LeadsPerPage: 3}) {
		break
	}
	if f2.count() != 1 {
		t.Fatalf("%d requests after taking one lead, want 1", f2.count())
	}
}

func TestPagesAskForTheLargestPageByDefault(t *testing.T) {
	f := newFakeAPI(t, pagedLeads(10))
	for _, err := range testClient(f).Pages(context.Background(), profileKey(), ListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if q := f.requests()[0].Query; q.Get("leads_per_page") != "2500" || q.Get("page_number") != "1" {
		t.Fatalf("first page asked %v", q)
	}
}

func TestPagesStopAtTheFirstError(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			errorBody(w, 401, "Authentication failed.")
			return
		}
		pagedLeads(10)(w, r, n)
	})
	var pages, errs int
	for p, err := range testClient(f).Pages(context.Background(), profileKey(), ListParams{LeadsPerPage: 2}) {
		if err != nil {
			errs++
			if KindOf(err) != KindUnauthorized {
				t.Fatalf("err = %v", err)
			}
			continue
		}
		if p == nil {
			t.Fatal("nil page without an error")
		}
		pages++
	}
	if pages != 1 || errs != 1 || f.count() != 2 {
		t.Fatalf("%d pages, %d errors, %d requests; want 1, 1, 2", pages, errs, f.count())
	}
}

func TestLeadsUpToCostsCeilNOver2500Requests(t *testing.T) {
	for _, tc := range []struct {
		name      string
		total, n  int
		wantLeads int
		wantReqs  int
		wantPer   string
	}{
		{"one lead, one request", 60, 1, 1, 1, "1"},
		{"fewer leads than asked", 57, 100, 57, 1, "100"},
		{"5000 of 6000 in two pages", 6000, 5000, 5000, 2, "2500"},
		{"2600 asks two pages of 2500", 6000, 2600, 2600, 2, "2500"},
		{"10000 of 3000 stops at the last page", 3000, 10000, 3000, 2, "2500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, pagedLeads(tc.total))
			leads, err := testClient(f).LeadsUpTo(context.Background(), profileKey(), ListParams{Order: OrderDesc}, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(leads) != tc.wantLeads || f.count() != tc.wantReqs {
				t.Fatalf("%d leads in %d requests, want %d in %d", len(leads), f.count(), tc.wantLeads, tc.wantReqs)
			}
			if got := f.requests()[0].Query.Get("leads_per_page"); got != tc.wantPer {
				t.Fatalf("leads_per_page %s, want %s", got, tc.wantPer)
			}
			if leads[0].LeadID != int64(9000000+tc.total) {
				t.Fatalf("first lead %d, want the newest", leads[0].LeadID)
			}
		})
	}
}

func TestLeadsOfAnotherProfileAreNeverReturned(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, 200, map[string]any{"page_number": 1, "leads_per_page": 25, "total_pages": 1, "total_leads": 3,
			"leads": []any{leadJSON(3, 1001), leadJSON(2, 1002), nil, leadJSON(1, 1001)}})
	})
	page, err := testClient(f).LeadsPage(context.Background(), masterKey(1001), ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Leads) != 2 || page.Leads[0].LeadID != 3 || page.Leads[1].LeadID != 1 {
		t.Fatalf("leads %+v, want 3 and 1 of profile 1001", page.Leads)
	}
}
