package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/table"
)

// BenchmarkPeriodDigest builds and verifies one period's digest over R records (10,000 and 100,000)
// held in an in-memory table that pages like DynamoDB, and reports the time of each per 100,000
// records and the peak heap growth of each: the figure `make bench` prints as A1 (memory must stay
// flat in R: records and leaves are streamed, never held).
func BenchmarkPeriodDigest(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			ctx := context.Background()
			db := newMemTable()
			start := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			s := New(Config{DB: db, Table: "bench", Tagger: benchTagger{}, TagChecker: benchTagger{},
				Signer: localSigner{priv}, SigningKey: "bench", PublicKey: &priv.PublicKey,
				Now: func() time.Time { return start.Add(2 * time.Hour) }})
			for i := range n {
				at := start.Add(time.Duration(i) * time.Hour / time.Duration(n))
				if _, err := s.Append(ctx, Record{Kind: KindAction, Actor: "arn:aws:iam::123456789012:role/bench", Action: "get-lead",
					ProfileID: 1001, LeadIDs: []int64{int64(i)}, Outcome: OutcomeOK, Status: 200, ReceivedAt: at}, nil); err != nil {
					b.Fatal(err)
				}
			}
			var buildTime, verifyTime time.Duration
			var buildPeak, verifyPeak uint64
			for b.Loop() {
				db.dropDigests()
				t0 := time.Now()
				buildPeak = peakHeap(func() {
					if _, err := s.BuildPeriod(ctx, PeriodOf(start)); err != nil {
						b.Fatal(err)
					}
				})
				buildTime += time.Since(t0)
				t0 = time.Now()
				verifyPeak = peakHeap(func() {
					rep, err := s.VerifyPeriods(ctx, PeriodOf(start), PeriodOf(start), func(f Finding) { b.Fatalf("finding: %s", f) }, nil)
					if err != nil || rep.Records != n {
						b.Fatalf("verify: %v, %d records", err, rep.Records)
					}
				})
				verifyTime += time.Since(t0)
			}
			per100k := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) * 100_000 / float64(n) }
			b.ReportMetric(per100k(buildTime), "build-s/100k")
			b.ReportMetric(per100k(verifyTime), "verify-s/100k")
			b.ReportMetric(float64(buildPeak)/(1<<20), "build-peak-MB")
			b.ReportMetric(float64(verifyPeak)/(1<<20), "verify-peak-MB")
		})
	}
}

// peakHeap runs fn and returns the largest growth of the live heap over its level before. The
// sampler collects before each reading, so the figure is what fn keeps reachable, not garbage the
// pacer has not collected yet (which grows with the in-memory table's own size, not fn's).
func peakHeap(fn func()) uint64 {
	live := func() uint64 {
		runtime.GC()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}} // marked live by that GC: no garbage
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := live()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if l := live(); l > base && l-base > peak.Load() {
				peak.Store(l - base)
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

type benchTagger struct{}

var benchTagKey = []byte("bench tag key, thirty-two bytes!")

func (benchTagger) Tag(_ context.Context, msg []byte) ([]byte, []byte, error) {
	m := hmac.New(sha256.New, benchTagKey)
	m.Write(msg)
	return []byte("bench"), m.Sum(nil), nil
}

func (benchTagger) Check(_ context.Context, _, msg, tag []byte) (bool, error) {
	m := hmac.New(sha256.New, benchTagKey)
	m.Write(msg)
	return hmac.Equal(m.Sum(nil), tag), nil
}

// localSigner signs as KMS Sign does with ECDSA_SHA_256 over a RAW message.
type localSigner struct{ k *ecdsa.PrivateKey }

func (l localSigner) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	sum := sha256.Sum256(in.Message)
	sig, err := ecdsa.SignASN1(rand.Reader, l.k, sum[:])
	return &kms.SignOutput{Signature: sig, KeyId: in.KeyId}, err
}

// memTable is just enough of DynamoDB for the digest: PutItem, GetItem, and Query by partition with
// begins_with on the sort key, on the table or the by-day index, paged by Limit (and 1 MB). Each
// partition is kept sorted, so a page costs a binary search, not a scan: the benchmark measures the
// digest, not the fake.
type memTable struct {
	mu    sync.Mutex
	items map[[2]string]map[string]types.AttributeValue
	parts map[string]*memPartition // "t|<pk>" and "i|<day_pk>"
}

type memPartition struct {
	sk     string // the sort key attribute
	items  []map[string]types.AttributeValue
	sorted bool
}

func newMemTable() *memTable {
	return &memTable{items: map[[2]string]map[string]types.AttributeValue{}, parts: map[string]*memPartition{}}
}

func (m *memTable) dropDigests() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.items {
		if strings.HasPrefix(k[0], "digest#") {
			delete(m.items, k)
		}
	}
	for k := range m.parts {
		if strings.HasPrefix(k, "t|digest#") {
			delete(m.parts, k)
		}
	}
}

func sv(item map[string]types.AttributeValue, name string) string { return str(item, name) }

func (m *memTable) part(key, sk string) *memPartition {
	p := m.parts[key]
	if p == nil {
		p = &memPartition{sk: sk}
		m.parts[key] = p
	}
	return p
}

func (m *memTable) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{sv(in.Item, table.PK), sv(in.Item, table.SK)}
	if _, exists := m.items[k]; !exists {
		p := m.part("t|"+k[0], table.SK)
		p.items, p.sorted = append(p.items, in.Item), false
		if d := sv(in.Item, table.DayPK); d != "" {
			p := m.part("i|"+d, table.DaySK)
			p.items, p.sorted = append(p.items, in.Item), false
		}
	}
	m.items[k] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memTable) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return &dynamodb.UpdateItemOutput{}, nil
}

func (m *memTable) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: m.items[[2]string{sv(in.Key, table.PK), sv(in.Key, table.SK)}]}, nil
}

func (m *memTable) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	key := "t|"
	if aws.ToString(in.IndexName) == table.IndexByDay {
		key = "i|"
	}
	pk := sv(in.ExpressionAttributeValues, ":p") + sv(in.ExpressionAttributeValues, ":pk")
	prefix := sv(in.ExpressionAttributeValues, ":prefix") + sv(in.ExpressionAttributeValues, ":leaves")
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &dynamodb.QueryOutput{}
	p := m.parts[key+pk]
	if p == nil {
		return out, nil
	}
	if !p.sorted {
		sort.Slice(p.items, func(i, j int) bool { return sv(p.items[i], p.sk) < sv(p.items[j], p.sk) })
		p.sorted = true
	}
	after := sv(in.ExclusiveStartKey, p.sk)
	i := sort.Search(len(p.items), func(i int) bool {
		v := sv(p.items[i], p.sk)
		return v >= prefix && (after == "" || v > after)
	})
	size := 0
	for ; i < len(p.items) && strings.HasPrefix(sv(p.items[i], p.sk), prefix); i++ {
		it := p.items[i]
		out.Items = append(out.Items, it)
		size += len(sv(it, attrLeaves)) + 500
		if (in.Limit != nil && len(out.Items) == int(*in.Limit)) || size > 1<<20 {
			out.LastEvaluatedKey = map[string]types.AttributeValue{p.sk: sAttr(sv(it, p.sk))}
			break
		}
	}
	return out, nil
}

func (m *memTable) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for name, ka := range in.RequestItems {
		for _, k := range ka.Keys {
			if it, ok := m.items[[2]string{sv(k, table.PK), sv(k, table.SK)}]; ok {
				out.Responses[name] = append(out.Responses[name], it)
			}
		}
	}
	return out, nil
}
