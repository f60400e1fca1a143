package testenv

import (
	"io"
	"net/http"
	"strings"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// LostAnswers makes a DynamoDB client lose the answers to some of its requests of one operation, as a
// connection dropped after DynamoDB applied the request would: the request goes through (dynalite
// applies it) and the SDK is answered 500 InternalServerError instead, so it sends the same request
// again. It is the client's HTTP client (Option, an option of DynamoDB).
type LostAnswers struct {
	Op   string // the operation whose answers are lost, e.g. "PutItem"
	next dynamodb.HTTPClient
	mu   sync.Mutex
	lose int // how many of the next answers to lose
	lost int // how many were lost so far
}

// Option installs l as the client's HTTP client.
func (l *LostAnswers) Option(o *dynamodb.Options) {
	l.next = o.HTTPClient
	if l.next == nil {
		l.next = awshttp.NewBuildableClient()
	}
	o.HTTPClient = l
}

// LoseNext loses the answers to the next n requests of the operation.
func (l *LostAnswers) LoseNext(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lose = n
}

// Count is how many answers were lost so far.
func (l *LostAnswers) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Do sends r and, for the operation, loses the answer when told to.
func (l *LostAnswers) Do(r *http.Request) (*http.Response, error) {
	resp, err := l.next.Do(r)
	if err != nil || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+l.Op) {
		return resp, err
	}
	l.mu.Lock()
	lose := l.lose > 0
	if lose {
		l.lose--
		l.lost++
	}
	l.mu.Unlock()
	if !lose {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	const body = `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost (test)"}`
	return &http.Response{
		Status: "500 Internal Server Error", StatusCode: http.StatusInternalServerError,
		Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}
