package audit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// BenchmarkPeriodDigest builds and verifies one period's digest over R records (10,000 and 100,000,
// all in one hour) and reports the time of each per 100,000 records and the peak heap growth of
// each: the figures `make bench` prints as D1 (memory must stay flat in R: records and leaves are
// streamed, never held).
//
// The table is an in-memory fake (memTable) served over DynamoDB's JSON protocol by a child process
// (this test binary, re-executed), and the digest reads and writes it through the SDK's client as it
// would DynamoDB. In this process the fake's records (about 2.3 KB each, 230 MB at R=100,000) made
// every GC cycle long, and what the digest allocated during a cycle was marked live: the peak grew
// with the table, not with anything the digest held (a heap profile at the peak showed only
// per-record garbage: canonical buffers, hashes, hex strings). Signing and tags use local keys: no
// service latency.
func BenchmarkPeriodDigest(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			ctx := context.Background()
			url := testenv.StartChild(b, benchTableEnv, strconv.Itoa(n))
			db := dynamodb.New(dynamodb.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(url),
				Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
				// Not the SDK's client, whose read timeout is meant for DynamoDB (the fake shares two
				// cores with everything else); and each answer read whole before the SDK decodes it
				// (one page, at most 1 MB): read as a stream, answers were cut short here under the
				// sampler's forced collections ("use of closed network connection").
				HTTPClient: &http.Client{Transport: wholeBodies{}},
			})
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			s := New(Config{DB: db, Table: benchTableName, TagChecker: benchTagger{},
				Signer: localSigner{priv}, SigningKey: "bench", PublicKey: &priv.PublicKey,
				Now: func() time.Time { return benchHour.Add(2 * time.Hour) }})
			build := func() {
				resp, err := http.Post(url+"/_drop-digests", "", nil)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if _, err := s.BuildPeriod(ctx, PeriodOf(benchHour)); err != nil {
					b.Fatal(err)
				}
			}
			verify := func() {
				rep, err := s.VerifyPeriods(ctx, PeriodOf(benchHour), PeriodOf(benchHour), func(f Finding) { b.Fatalf("finding: %s", f) }, nil)
				if err != nil || rep.Records != n {
					b.Fatalf("verify: %v, %d records", err, rep.Records)
				}
			}
			// Timed on their own, then run again under the heap sampler, whose forced collections
			// would otherwise count in the time.
			var buildTime, verifyTime time.Duration
			var buildPeak, verifyPeak uint64
			for b.Loop() {
				t0 := time.Now()
				build()
				buildTime += time.Since(t0)
				t0 = time.Now()
				verify()
				verifyTime += time.Since(t0)
				buildPeak = max(buildPeak, peakHeap(build))
				verifyPeak = max(verifyPeak, peakHeap(verify))
			}
			per100k := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) * 100_000 / float64(n) }
			b.ReportMetric(per100k(buildTime), "build-s/100k")
			b.ReportMetric(per100k(verifyTime), "verify-s/100k")
			b.ReportMetric(float64(buildPeak)/(1<<20), "build-peak-MB")
			b.ReportMetric(float64(verifyPeak)/(1<<20), "verify-peak-MB")
		})
	}
}

const benchTableName = "bench"

// benchHour is the period the benchmark's records fall in.
var benchHour = time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)

// benchTableEnv names the environment variable that makes this test binary serve the benchmark's
// table: R records, written by a store with the benchmark's tag key.
const benchTableEnv = "WCBRIDGE_AUDIT_BENCH_TABLE_RECORDS"

// TestMain serves the benchmark's table when this binary is started as its child.
func TestMain(m *testing.M) {
	if v := os.Getenv(benchTableEnv); v != "" {
		serveBenchTable(v)
		return
	}
	os.Exit(m.Run())
}

// serveBenchTable writes the records, serves the table on a loopback port, prints its URL and serves
// until stdin is closed (the parent is done, or gone).
func serveBenchTable(records string) {
	n, err := strconv.Atoi(records)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench table: bad record count")
		os.Exit(2)
	}
	ctx := context.Background()
	db := newMemTable()
	s := New(Config{DB: db, Table: benchTableName, Tagger: benchTagger{}})
	for i := range n {
		at := benchHour.Add(time.Duration(i) * time.Hour / time.Duration(n))
		if _, err := s.Append(ctx, Record{Kind: KindAction, Actor: "arn:aws:iam::123456789012:role/bench", Action: "get-lead",
			ProfileID: 1001, LeadIDs: []int64{int64(i)}, Outcome: OutcomeOK, Status: 200, ReceivedAt: at}, nil); err != nil {
			fmt.Fprintln(os.Stderr, "bench table:", err)
			os.Exit(2)
		}
	}
	srv := httptest.NewServer(db)
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// wholeBodies reads each response body whole before handing it on.
type wholeBodies struct{}

func (wholeBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// peakHeap runs fn and returns the largest growth of the live heap over its level before. The
// sampler collects before each reading, so the figure is what fn keeps reachable (and what it
// allocated during that short collection), not garbage the pacer has not collected yet.
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
