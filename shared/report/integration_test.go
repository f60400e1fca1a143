package report

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// The synthetic PHI the simulator generates; none of it may reach a report, a log or an answer.
var syntheticPHI = []string{"Synthetic Patient", "@example.test", "+1555010", "(555) 010-", "Synthetic note", "Synthetic message"}

func assertNoPHI(t *testing.T, where, s string) {
	t.Helper()
	for _, p := range syntheticPHI {
		if strings.Contains(s, p) {
			t.Fatalf("%s holds synthetic PHI %q", where, p)
		}
	}
}

// clock is a test clock that tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// env is a table on dynalite, the tag and signing keys on local-kms, a locked digest bucket on the
// S3 stand-in and a WhatConverts simulator with profiles 1001, 1002 and 1003 (a profile key each),
// all on one clock.
type env struct {
	db      *dynamodb.Client
	kms     *kms.Client
	table   string
	tagKey  string
	signKey string
	pub     *ecdsa.PublicKey
	anchor  audit.Anchor
	sim     *wcsim.Sim
	url     string
	clock   *clock
	keys    map[int64]wcsim.Key
	logs    *testenv.Logs
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{db: testenv.DynamoDB(t), kms: testenv.KMS(t), clock: &clock{t: runAt}, logs: &testenv.Logs{}}
	e.table = testenv.Table(t, e.db)
	e.tagKey = testenv.SymmetricKey(t, e.kms)
	s3c := testenv.S3(t)
	e.anchor = &anchor.S3{Client: s3c, Bucket: testenv.LockedBucket(t, s3c), Now: e.clock.Now}
	var der []byte
	e.signKey, der = testenv.SigningKey(t, e.kms)
	pub, err := audit.ParsePublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	e.pub = pub
	e.sim = wcsim.New(wcsim.Options{Now: e.clock.Now, Seed: 28})
	e.sim.SetAccountName(2001, "Synthetic Health Group")
	e.keys = map[int64]wcsim.Key{}
	for _, id := range []int64{1001, 1002, 1003} {
		e.sim.AddProfile(wcsim.Profile{ID: id, AccountID: 2001, Name: fmt.Sprintf("Synthetic Clinic %d", id)})
		k := wcsim.Key{Token: fmt.Sprintf("%d-0123456789abcdef", id), Secret: fmt.Sprintf("%d-secret-0123456789abcdef", id)}
		e.sim.AddProfileKey(id, k)
		e.keys[id] = k
	}
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/api/v1"
	return e
}

// daily is the report handler as shared/wiring builds it for these profiles, on the test's clock and
// logs: it spends each key's budget without a caller, up to the key's limit (its share is reserved on
// the actions' side, not a ceiling here).
func (e *env) daily(t *testing.T, profiles string) *Daily {
	t.Helper()
	d := &Daily{Audit: e.auditStore(), Reports: NewStore(e.db, e.table), Now: e.clock.Now, Log: e.logs.Logger(), DigestWait: -1}
	if profiles == "" {
		return d
	}
	d.Credentials = whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{}}
	for id, k := range e.keys {
		d.Credentials.Profiles[id] = whatconverts.Key{Token: k.Token, Secret: k.Secret}
	}
	for _, f := range strings.Split(profiles, ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		d.Profiles = append(d.Profiles, id)
	}
	d.WhatConverts = whatconverts.New(e.url,
		whatconverts.WithBudget(budget.New(e.db, e.table, budget.WithClock(e.clock.Now))))
	return d
}

// get is GET /reports as shared/wiring builds it, on the test's clock and logs, with a policy that
// allows everything.
func (e *env) get() *Get {
	return &Get{Reports: NewStore(e.db, e.table), Audit: audit.New(audit.Config{DB: e.db, Table: e.table, Now: e.clock.Now,
		Tagger: envelope.NewTagger(e.kms, e.tagKey, envelope.Options{})}),
		Access: allowAll{}, Now: e.clock.Now, Log: e.logs.Logger()}
}

// auditStore is the report's audit store as shared/wiring builds it: it tags its records and
// verifies digests (public key, anchor, tags), and cannot sign.
func (e *env) auditStore() *audit.Store {
	tagger := envelope.NewTagger(e.kms, e.tagKey, envelope.Options{})
	return audit.New(audit.Config{DB: e.db, Table: e.table, Now: e.clock.Now, Tagger: tagger, TagChecker: tagger,
		PublicKey: e.pub, Anchor: e.anchor})
}

// digestStore is AuditDigestFunction's store: it signs and anchors.
func (e *env) digestStore() *audit.Store {
	return audit.New(audit.Config{DB: e.db, Table: e.table, Now: e.clock.Now, Signer: e.kms, SigningKey: e.signKey,
		PublicKey: e.pub, Anchor: e.anchor})
}

// reportItems scans the table for report items.
func (e *env) reportItems(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(e.table),
		FilterExpression:          aws.String("begins_with(#pk, :r)"),
		ExpressionAttributeNames:  map[string]string{"#pk": table.PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "report#"}},
	}
	for {
		out, err := e.db.Scan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// expectedProfile aggregates a profile's leads of the day from the simulator's own state, as the
// contract defines the report, independently of the report's code and of the client's decoding.
func expectedProfile(t *testing.T, sim *wcsim.Sim, profileID int64, day time.Time) Profile {
	t.Helper()
	p := Profile{ProfileID: profileID, ByType: map[string]int64{}, ByStatus: map[string]int64{}, BySource: map[string]int64{},
		Quotable: map[string]int64{"Yes": 0, "No": 0, "Pending": 0, "Not Set": 0}}
	var quote, sales int64
	money := func(v any) int64 {
		if f, ok := v.(float64); ok {
			return int64(math.Round(f * 100))
		}
		return 0
	}
	for _, id := range sim.LeadIDs(profileID) {
		m, _ := sim.Lead(id)
		created, err := time.Parse(time.RFC3339, m["date_created"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if created.Before(day) || !created.Before(day.Add(24*time.Hour)) {
			continue
		}
		p.LeadsTotal++
		p.ByType[m["lead_type"].(string)]++
		p.ByStatus[m["lead_status"].(string)]++
		p.BySource[fmt.Sprintf("%s / %s", m["lead_source"], m["lead_medium"])]++
		p.Quotable[m["quotable"].(string)]++
		quote += money(m["quote_value"])
		sales += money(m["sales_value"])
		if m["spam"] == true {
			p.Spam++
		}
		if m["duplicate"] == true {
			p.Duplicates++
		}
	}
	p.QuoteValueTotal, p.SalesValueTotal = float64(quote)/100, float64(sales)/100
	return p
}

func readStored(t *testing.T, d *Daily, date string) Report {
	t.Helper()
	body, err := d.Reports.Get(context.Background(), date)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// 3 profiles with 12,000 leads each on the day: each costs ⌈12000/2500⌉ = 5 requests, the totals are
// exactly the simulator's, a second run leaves one report, and no PHI reaches the report or the logs.
func TestReportOf12000LeadsPerProfile(t *testing.T) {
	e := newEnv(t)
	for _, id := range []int64{1001, 1002, 1003} {
		e.sim.AddLeadsBetween(id, 12000, reportDay, reportDay.Add(24*time.Hour))
		// Leads of the days around it, which the report must not count.
		e.sim.AddLeadsBetween(id, 40, reportDay.Add(-6*time.Hour), reportDay)
		e.sim.AddLeadsBetween(id, 10, reportDay.Add(24*time.Hour), runAt)
	}
	d := e.daily(t, "1001,1002,1003")
	scheduled := json.RawMessage(`{"schedule_arn":"arn:aws:scheduler:us-east-1:123456789012:schedule/default/daily","scheduled_time":"2026-11-29T00:15:00Z"}`)

	res, err := d.Handle(context.Background(), scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if res.Date != "2026-11-28" || res.WhatConvertsRequests != 15 || len(res.PartialProfiles) != 0 {
		t.Fatalf("result %+v, want 2026-11-28, 15 requests, no partial profile", res)
	}
	for id, k := range e.keys {
		if n := e.sim.RequestsByToken(k.Token); n != 5 {
			t.Errorf("profile %d: WhatConverts saw %d requests, want ⌈12000/2500⌉ = 5", id, n)
		}
	}
	r := readStored(t, d, "2026-11-28")
	if r.WhatConverts.Requests != 15 {
		t.Errorf("whatconverts.requests = %d, want 15", r.WhatConverts.Requests)
	}
	if len(r.Profiles) != 3 {
		t.Fatalf("%d profiles, want 3", len(r.Profiles))
	}
	for i, id := range []int64{1001, 1002, 1003} {
		want := expectedProfile(t, e.sim, id, reportDay)
		if want.LeadsTotal != 12000 {
			t.Fatalf("the simulator holds %d leads of profile %d on the day, want 12000", want.LeadsTotal, id)
		}
		if got, exp := mustJSON(t, r.Profiles[i]), mustJSON(t, want); got != exp {
			t.Errorf("profile %d\n got %s\nwant %s", id, got, exp)
		}
	}

	e.sim.ResetCounters()
	res2, err := d.Handle(context.Background(), json.RawMessage(`{"date":"2026-11-28"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res2.WhatConvertsRequests != 15 {
		t.Fatalf("the second run spent %d requests, want 15", res2.WhatConvertsRequests)
	}
	items := e.reportItems(t)
	if len(items) != 1 {
		t.Fatalf("%d report items after two runs of one date, want 1", len(items))
	}
	if got := items[0][attrGeneratedAt].(*types.AttributeValueMemberS).Value; got != res2.GeneratedAt {
		t.Fatalf("the stored report was generated at %s, want the second run's %s", got, res2.GeneratedAt)
	}
	exp, ok := items[0][table.ExpiresAt].(*types.AttributeValueMemberN)
	if !ok || exp.Value != strconv.FormatInt(runAt.Add(table.AuditRetention).Unix(), 10) {
		t.Fatalf("expires_at %v, want six years after the run", items[0][table.ExpiresAt])
	}
	assertNoPHI(t, "the stored report item", testenv.ItemText(items[0]))
	assertNoPHI(t, "the logs", e.logs.String())
	assertNoPHI(t, "the result", mustJSON(t, res2))
	if !strings.Contains(e.logs.String(), `"msg":"daily report stored"`) {
		t.Fatalf("no run summary in the logs: %s", e.logs.String())
	}
}

// Independent clients of the real API send start_date and end_date as dates only, and how the API
// reads a date's time zone is undocumented: the report asks for its day with a day's margin on each
// side, as dates, and counts exactly the leads created in the UTC day.
func TestTheReportAsksForDatesOnlyWithADaysMargin(t *testing.T) {
	e := newEnv(t)
	edges := map[string]time.Time{
		"the day's first second":    reportDay,
		"the day's last second":     reportDay.Add(24*time.Hour - time.Second),
		"the day before's last":     reportDay.Add(-time.Second),
		"the day after's first":     reportDay.Add(24 * time.Hour),
		"two days before (outside)": reportDay.Add(-36 * time.Hour),
	}
	for _, at := range edges {
		e.sim.AddLead(1001, map[string]any{"lead_type": "Web Form", "date_created": at, "last_updated": at})
	}
	d := e.daily(t, "1001")
	if _, err := d.Handle(context.Background(), json.RawMessage(`{"date":"2026-11-28"}`)); err != nil {
		t.Fatal(err)
	}
	var lists []url.Values
	for _, r := range e.sim.RequestLog() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/leads") {
			lists = append(lists, r.Query)
		}
	}
	if len(lists) != 1 {
		t.Fatalf("%d list requests, want 1", len(lists))
	}
	if got := lists[0].Get("start_date") + ".." + lists[0].Get("end_date"); got != "2026-11-27..2026-11-29" {
		t.Fatalf("the report asked WhatConverts for %s, want the dates 2026-11-27..2026-11-29", got)
	}
	r := readStored(t, d, "2026-11-28")
	if len(r.Profiles) != 1 || r.Profiles[0].LeadsTotal != 2 {
		t.Fatalf("profiles %+v, want profile 1001 with the day's 2 leads", r.Profiles)
	}
}

// A key with too little of its day left marks that profile partial; the others, with their own
// keys, are complete. The report's share is not a ceiling: the report reads the other profiles'
// two pages each whatever REPORT_BUDGET_SHARE is.
func TestABudgetTooSmallMarksOnlyThatProfilePartial(t *testing.T) {
	e := newEnv(t)
	for _, id := range []int64{1001, 1002, 1003} {
		e.sim.AddLeadsBetween(id, 3000, reportDay, reportDay.Add(24*time.Hour)) // 2 pages each
	}
	// 999 of 1002's 1,000 are already spent today: one page is left for the report.
	spent := budget.New(e.db, e.table, budget.WithClock(e.clock.Now))
	for range 999 {
		if _, err := spent.Spend(context.Background(), budget.KeyID(e.keys[1002].Token), 1000); err != nil {
			t.Fatal(err)
		}
	}
	d := e.daily(t, "1001,1002,1003")
	res, err := d.Handle(context.Background(), json.RawMessage(`{"date":"2026-11-28"}`))
	if err != nil {
		t.Fatalf("a partial profile failed the run: %v", err)
	}
	if len(res.PartialProfiles) != 1 || res.PartialProfiles[0] != 1002 || res.WhatConvertsRequests != 5 {
		t.Fatalf("result %+v, want only 1002 partial and 2+1+2 requests", res)
	}
	r := readStored(t, d, "2026-11-28")
	for _, p := range r.Profiles {
		want := expectedProfile(t, e.sim, p.ProfileID, reportDay)
		switch p.ProfileID {
		case 1002:
			if !p.Partial || p.PartialReason != ReasonBudgetExhausted || p.LeadsTotal != 2500 {
				t.Errorf("profile 1002 = partial %t %q with %d leads, want partial budget_exhausted after one page (2500)",
					p.Partial, p.PartialReason, p.LeadsTotal)
			}
		default:
			if got, exp := mustJSON(t, p), mustJSON(t, want); got != exp {
				t.Errorf("profile %d\n got %s\nwant %s", p.ProfileID, got, exp)
			}
		}
	}
	if n := e.sim.RequestsByToken(e.keys[1002].Token); n != 1 {
		t.Fatalf("WhatConverts saw %d requests for 1002, want 1: the budget refuses before calling", n)
	}
	used, err := spent.Used(context.Background(), budget.KeyID(e.keys[1002].Token))
	if err != nil || used != 1000 {
		t.Fatalf("1002's budget used %d (%v), want 1000: the report stops at the key's limit", used, err)
	}
	assertNoPHI(t, "the logs", e.logs.String())
}

// The day's audit records, written through shared/audit, are counted by the documented rules; the
// day's digest is built, chained to the previous day's and verified; a tampered record makes it
// unverified, and a day not over yet says so.
func TestAuditSummaryAndIntegrity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	store := e.auditStore()
	const crm, ops = "arn:aws:iam::123456789012:role/crm-sync", "arn:aws:iam::123456789012:role/ops"
	at := func(h int) time.Time { return reportDay.Add(time.Duration(h)*time.Hour + 17*time.Second) }
	var ids []string
	appendRec := func(r audit.Record) {
		t.Helper()
		rec, err := store.Append(ctx, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	accept := func(trigger string, lead int64, h int) string {
		t.Helper()
		id, isNew, err := store.RecordIfNew(ctx, audit.DedupeKey{ProfileID: 1001, LeadID: lead, Trigger: trigger, LastUpdated: at(h),
			BodyHash: strings.Repeat("ab", 32)},
			audit.Record{ReceivedAt: at(h), RequestID: fmt.Sprintf("req-%d", lead)}, nil)
		if err != nil || !isNew {
			t.Fatalf("RecordIfNew: %v, new %t", err, isNew)
		}
		ids = append(ids, id)
		return id
	}
	first := accept(audit.TriggerNewLead, 9000001, 1)
	accept(audit.TriggerNewLead, 9000002, 2)
	accept(audit.TriggerNewLead, 9000003, 3)
	accept(audit.TriggerUpdatedLead, 9000001, 4)
	accept(audit.TriggerUpdatedLead, 9000002, 5)
	webhook := func(o audit.Outcome, h int) audit.Record {
		return audit.Record{Kind: audit.KindWebhook, Actor: audit.WebhookActor, Action: audit.TriggerNewLead, Trigger: audit.TriggerNewLead,
			Outcome: o, ReceivedAt: at(h), ProfileID: 1001}
	}
	dup := webhook(audit.OutcomeDuplicate, 6)
	dup.EventID = first
	appendRec(dup)
	appendRec(webhook(audit.OutcomeRejected, 7))
	action := func(name, actor string, o audit.Outcome, h int) audit.Record {
		return audit.Record{Kind: audit.KindAction, Actor: actor, Action: name, Outcome: o, ReceivedAt: at(h), ProfileID: 1001, LeadIDs: []int64{9000001}}
	}
	appendRec(action(ActionGetLead, crm, audit.OutcomeOK, 8))
	appendRec(action(ActionGetLead, crm, audit.OutcomeOK, 9))
	appendRec(action(ActionGetLead, crm, audit.OutcomeFailed, 10))
	appendRec(action(ActionGetLeads, ops, audit.OutcomeOK, 11))
	appendRec(action(ActionUpdateLead, crm, audit.OutcomeOK, 12))
	appendRec(audit.Record{Kind: audit.KindPHIRead, Actor: ops, Action: ActionTriggerSamples, Outcome: audit.OutcomeOK, ReceivedAt: at(13)})
	// The days around it, each written by a writer of its own (another execution environment): one
	// writer's records follow its clock, and this one has written the report day's already.
	for _, h := range []int{-1, 24} {
		if _, err := e.auditStore().Append(ctx, action(ActionGetLead, crm, audit.OutcomeOK, h), nil); err != nil {
			t.Fatal(err)
		}
	}

	// The digest function has run every hour since the 27th began: the chain starts there.
	digests := e.digestStore()
	for p := reportDay.Add(-24 * time.Hour); !p.After(audit.LastDuePeriod(e.clock.Now())); p = p.Add(audit.PeriodLength) {
		if _, err := digests.BuildPeriod(ctx, audit.PeriodOf(p)); err != nil {
			t.Fatal(err)
		}
	}

	d := e.daily(t, "")
	if d.WhatConverts != nil {
		t.Fatal("a report without profiles needs no WhatConverts client (nor the credentials)")
	}
	if _, err := d.Handle(ctx, json.RawMessage(`{"date":"2026-11-27"}`)); err != nil {
		t.Fatal(err)
	}
	res, err := d.Handle(ctx, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	prev, cur := readStored(t, d, "2026-11-27"), readStored(t, d, "2026-11-28")
	wantAudit := AuditSummary{
		Webhooks: Webhooks{NewLead: 3, UpdatedLead: 2, Duplicates: 1, Rejected: 1},
		Actions: map[string]Outcomes{
			ActionGetLeads: {OK: 1}, ActionGetLead: {OK: 2, Failed: 1}, ActionCreateLead: {}, ActionUpdateLead: {OK: 1},
		},
		PHIReads: map[string]int64{crm: 3, ops: 2},
	}
	if got, exp := mustJSON(t, cur.Audit), mustJSON(t, wantAudit); got != exp {
		t.Fatalf("audit summary\n got %s\nwant %s", got, exp)
	}
	if in := prev.Integrity; !in.Verified || in.PeriodsVerified != 24 || in.PreviousDigest != "" {
		t.Fatalf("integrity of the chain's first day %+v, want 24 periods verified from the genesis", in)
	}
	in := cur.Integrity
	if !in.Verified || in.Records != 13 || in.PeriodsVerified != 24 || !strings.HasPrefix(in.Digest, "sha256:") || in.UnverifiedReason != "" {
		t.Fatalf("integrity %+v, want 13 records in 24 periods verified", in)
	}
	if in.PreviousDigest == "" || in.PreviousDigest != prev.Integrity.Digest {
		t.Fatalf("previous_digest %q, want the 27th's last digest %q", in.PreviousDigest, prev.Integrity.Digest)
	}
	if !res.Verified || res.AuditRecords != 13 {
		t.Fatalf("result %+v", res)
	}
	head, err := digests.VerifyPeriods(ctx, "2026-11-28T23", "2026-11-28T23", func(f audit.Finding) { t.Errorf("finding %s", f) }, nil)
	if err != nil || head.HeadDigest != in.Digest {
		t.Fatalf("the 28th's last digest is %q (%v), the report says %q", head.HeadDigest, err, in.Digest)
	}

	// Someone with write access to the table edits a record of the day.
	pk, sk := table.AuditKey(ids[7])
	if _, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(e.table),
		Key:                       map[string]types.AttributeValue{table.PK: &types.AttributeValueMemberS{Value: pk}, table.SK: &types.AttributeValueMemberS{Value: sk}},
		UpdateExpression:          aws.String("SET actor = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: ops}},
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(runAt.Add(time.Hour))
	res, err = d.Handle(ctx, json.RawMessage(`{"date":"2026-11-28"}`))
	if err != nil {
		t.Fatal(err)
	}
	in = readStored(t, d, "2026-11-28").Integrity
	if in.Verified || res.Verified || in.UnverifiedReason != IntegrityFindings || in.Findings["edited"] != 1 || len(in.Findings) != 1 || in.Digest != head.HeadDigest {
		t.Fatalf("integrity after tampering %+v, want unverified with one edited record against the same digests", in)
	}

	// ... and deletes an hour's digest from the table: its write-once copy in the bucket says so.
	dpk, dsk := table.DigestKey("2026-11-28T05")
	if _, err := e.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(e.table),
		Key:       map[string]types.AttributeValue{table.PK: &types.AttributeValueMemberS{Value: dpk}, table.SK: &types.AttributeValueMemberS{Value: dsk}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err = d.Handle(ctx, json.RawMessage(`{"date":"2026-11-28"}`)); err != nil {
		t.Fatal(err)
	}
	if in = readStored(t, d, "2026-11-28").Integrity; in.Verified || in.Findings["digest-deleted"] != 1 || in.Findings["edited"] != 1 {
		t.Fatalf("integrity after deleting a digest %+v, want the deletion and the edit found", in)
	}

	// Today (2026-11-29): its first hour is due but not digested yet. The report says so, and
	// never builds a digest itself.
	res, err = d.Handle(ctx, json.RawMessage(`{"date":"2026-11-29"}`))
	if err != nil {
		t.Fatal(err)
	}
	in = readStored(t, d, "2026-11-29").Integrity
	if in.Verified || in.UnverifiedReason != IntegrityPending || in.PeriodsPending != 24 || in.PeriodsVerified != 0 || in.Digest != "" || res.UnverifiedReason != IntegrityPending {
		t.Fatalf("integrity of today %+v, want its 24 periods pending", in)
	}
	if rep, err := digests.VerifyPeriods(ctx, "2026-11-29T00", "2026-11-29T00", func(audit.Finding) {}, nil); err != nil || rep.Digested != 0 {
		t.Fatalf("the report built a digest of 2026-11-29T00 (%+v, %v)", rep, err)
	}

	// Each run is one audit record of kind report, on the day it ran.
	runs := 0
	if err := store.Day(ctx, "2026-11-29", func(r audit.Record) error {
		if r.Kind == audit.KindReport && r.Action == ActionDailyReport && r.Outcome == audit.OutcomeOK && r.Actor == DefaultActor {
			runs++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if runs != 5 {
		t.Fatalf("%d run records, want 5", runs)
	}
}

// GET /reports/{date} against the real table: 200 with the stored JSON, 404, 400, 403, each audited.
func TestGetReportFromTheTable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.AddLeadsBetween(1001, 30, reportDay, reportDay.Add(24*time.Hour))
	d := e.daily(t, "1001")
	if _, err := d.Handle(ctx, json.RawMessage(`{"date":"2026-11-28"}`)); err != nil {
		t.Fatal(err)
	}
	stored, err := d.Reports.Get(ctx, "2026-11-28")
	if err != nil {
		t.Fatal(err)
	}
	g := e.get()
	e.clock.Set(runAt.Add(9 * time.Hour))
	for _, tc := range []struct {
		date, caller string
		status       int
	}{
		{"2026-11-28", officer, 200},
		{"2026-11-27", officer, 404},
		{"2026-11-31", officer, 400},
		{"2026-11-28", "", 403},
	} {
		res, err := g.Handle(ctx, getRequest(t, tc.date, tc.caller))
		if err != nil || res.StatusCode != tc.status {
			t.Fatalf("GET %s by %q: %d (%v), want %d", tc.date, tc.caller, res.StatusCode, err, tc.status)
		}
		if tc.status == 200 && res.Body != string(stored) {
			t.Fatalf("GET answered %s, want the stored report", res.Body)
		}
		assertNoPHI(t, "the answer", res.Body)
	}
	for _, accept := range []string{"text/html", "text/csv"} { // the report of the simulator's leads, as a page and a sheet
		req := getRequest(t, "2026-11-28", officer)
		req.Headers["Accept"] = accept
		res, err := g.Handle(ctx, req)
		if err != nil || res.StatusCode != 200 || !strings.Contains(res.Body, "1001") {
			t.Fatalf("%s: %d (%v)", accept, res.StatusCode, err)
		}
		assertNoPHI(t, accept, res.Body)
	}
	got := map[int]audit.Record{}
	if err := e.auditStore().Day(ctx, "2026-11-29", func(r audit.Record) error {
		if r.Action == ActionGetReport {
			got[r.Status] = r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[int]struct {
		actor   string
		outcome audit.Outcome
	}{
		200: {officer, audit.OutcomeOK}, 404: {officer, audit.OutcomeFailed},
		400: {officer, audit.OutcomeRejected}, 403: {UnauthenticatedActor, audit.OutcomeRejected},
	} {
		r, ok := got[status]
		if !ok || r.Kind != audit.KindReport || r.Actor != want.actor || r.Outcome != want.outcome || r.RequestID != "req-report-0001" {
			t.Errorf("audit record of the %d read: %+v (found %t)", status, r, ok)
		}
	}
	assertNoPHI(t, "the logs", e.logs.String())
}

// TestReportsOfARangeFromTheTable: BatchGetItem on dynalite reads the stored reports of a range,
// oldest first, leaving out the days without one; GET /reports and the page's CSV and HTML answer
// from them without PHI.
func TestReportsOfARangeFromTheTable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	store := NewStore(e.db, e.table)
	for _, d := range []string{"2026-11-26", "2026-11-28", "2026-11-24"} {
		if _, err := store.Put(ctx, sampleReport(d, 1), runAt); err != nil {
			t.Fatal(err)
		}
	}
	rng, err := ParseRange("2026-11-23", "2026-11-28")
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.GetRange(ctx, rng.Dates())
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, s := range got {
		dates = append(dates, s.Date)
		if r, err := decodeReport(s.Body); err != nil || r.Date != s.Date {
			t.Fatalf("stored body of %s: %v", s.Date, err)
		}
	}
	if strings.Join(dates, ",") != "2026-11-24,2026-11-26,2026-11-28" {
		t.Fatalf("dates %v", dates)
	}

	g := e.get()
	res, err := g.Handle(ctx, listRequest(t, map[string]string{"from": "2026-11-01", "to": "2026-11-30"}, officer))
	if err != nil || res.StatusCode != 200 || strings.Count(res.Body, `"date"`) != 3 {
		t.Fatalf("GET /reports: %d %s (%v)", res.StatusCode, res.Body, err)
	}
	for _, accept := range []string{"text/html", "text/csv"} {
		req := getRequest(t, "2026-11-28", officer)
		req.Headers["Accept"] = accept
		res, err := g.Handle(ctx, req)
		if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Headers["Content-Type"], accept) {
			t.Fatalf("%s: %d %v", accept, res.StatusCode, res.Headers)
		}
		assertNoPHI(t, accept, res.Body)
	}
	assertNoPHI(t, "the logs", e.logs.String())
}
