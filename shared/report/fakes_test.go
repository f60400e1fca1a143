package report

import (
	"context"
	"iter"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// fakeAudit is a function-field fake of the audit store; Append records what it is given.
type fakeAudit struct {
	DayFn    func(ctx context.Context, day string, fn func(audit.Record) error) error
	VerifyFn func(ctx context.Context, first, last string, onFinding func(audit.Finding)) (audit.RangeReport, error)
	// DigestedFn answers Digested; every period is digested when nil.
	DigestedFn func(ctx context.Context, period string) (bool, error)
	AppendFn   func(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)

	mu       sync.Mutex
	appended []audit.Record
}

var _ AuditTrail = (*fakeAudit)(nil)

func (f *fakeAudit) Day(ctx context.Context, day string, fn func(audit.Record) error) error {
	if f.DayFn == nil {
		return nil
	}
	return f.DayFn(ctx, day, fn)
}

// VerifyPeriods answers every period of the range digested and intact unless VerifyFn says otherwise.
func (f *fakeAudit) VerifyPeriods(ctx context.Context, first, last string, onFinding func(audit.Finding), _ func(string, int)) (audit.RangeReport, error) {
	if f.VerifyFn != nil {
		return f.VerifyFn(ctx, first, last, onFinding)
	}
	a, _ := audit.ParsePeriod(first)
	b, _ := audit.ParsePeriod(last)
	n := int(b.Sub(a)/audit.PeriodLength) + 1
	return audit.RangeReport{Periods: n, Digested: n, Head: last, HeadDigest: "sha256:ab"}, nil
}

func (f *fakeAudit) Digested(ctx context.Context, period string) (bool, error) {
	if f.DigestedFn == nil {
		return true, nil
	}
	return f.DigestedFn(ctx, period)
}

func (f *fakeAudit) Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error) {
	if f.AppendFn != nil {
		return f.AppendFn(ctx, r, payload)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.ID == "" {
		r.ID = audit.NewRecordID()
	}
	f.appended = append(f.appended, r)
	return r, nil
}

func (f *fakeAudit) records() []audit.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]audit.Record(nil), f.appended...)
}

// fakeLeads is a function-field fake of the WhatConverts client; each page it yields counts as one
// request.
type fakeLeads struct {
	PagesFn  func(ctx context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error]
	requests int64
}

var _ Leads = (*fakeLeads)(nil)

func (f *fakeLeads) Pages(ctx context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
	return func(yield func(*whatconverts.Page, error) bool) {
		for page, err := range f.PagesFn(ctx, k, p) {
			f.requests++
			if !yield(page, err) {
				return
			}
		}
	}
}

func (f *fakeLeads) Requests() int64 { return f.requests }

// fakeDB is a function-field fake of the report store's DynamoDB API.
type fakeDB struct {
	PutItemFn func(ctx context.Context, in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	GetItemFn func(ctx context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)

	BatchGetItemFn func(ctx context.Context, in *dynamodb.BatchGetItemInput) (*dynamodb.BatchGetItemOutput, error)
}

var _ DB = (*fakeDB)(nil)

func (f *fakeDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f.PutItemFn(ctx, in)
}

func (f *fakeDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f.GetItemFn(ctx, in)
}

func (f *fakeDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return f.BatchGetItemFn(ctx, in)
}
