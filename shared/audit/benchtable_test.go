package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// memTable is just enough of DynamoDB for the digest: PutItem, GetItem, BatchGetItem, and Query by
// partition with begins_with on the sort key, on the table or the by-day index, paged by Limit (and
// 1 MB). Each partition is kept sorted, so a page costs a binary search, not a scan: the benchmark
// measures the digest, not the fake. BenchmarkPeriodDigest serves it from a child process
// (memTable.ServeHTTP), so that its hundreds of MB are not in the measured heap.
type memTable struct {
	mu    sync.Mutex
	items map[[2]string]map[string]types.AttributeValue
	parts map[string]*memPartition // "t|<pk>" and "i|<day_pk>"

	wireMu sync.Mutex
	wire   map[[2]string]json.RawMessage // items as ServeHTTP answers them, encoded once
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
	m.wireMu.Lock()
	delete(m.wire, k)
	m.wireMu.Unlock()
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
	out.Count = int32(len(out.Items))
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

// ServeHTTP answers the DynamoDB JSON protocol (X-Amz-Target DynamoDB_20120810.<Operation>) for the
// operations above, so that the SDK's client in another process reads and writes the table as it
// would DynamoDB; POST /_drop-digests drops every digest item (a new round of the benchmark).
// Condition expressions are not evaluated: the benchmark never relies on them.
func (m *memTable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_drop-digests" {
		m.dropDigests()
		return
	}
	var in wireInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"bad JSON"}`, http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	var (
		out any
		err error
	)
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810."); op {
	case "PutItem":
		_, err = m.PutItem(ctx, &dynamodb.PutItemInput{Item: in.Item.values()})
		out = struct{}{}
	case "UpdateItem":
		out = struct{}{}
	case "GetItem":
		o, _ := m.GetItem(ctx, &dynamodb.GetItemInput{Key: in.Key.values()})
		out = map[string]any{"Item": wireItemOf(o.Item)}
		if o.Item == nil {
			out = struct{}{}
		}
	case "Query":
		o, _ := m.Query(ctx, &dynamodb.QueryInput{IndexName: in.IndexName, ExpressionAttributeValues: in.ExpressionAttributeValues.values(),
			ExclusiveStartKey: in.ExclusiveStartKey.values(), Limit: in.Limit})
		items := make([]json.RawMessage, len(o.Items))
		for i, it := range o.Items {
			items[i] = m.wireOfItem(it)
		}
		res := map[string]any{"Items": items, "Count": o.Count, "ScannedCount": o.Count}
		if o.LastEvaluatedKey != nil {
			// The whole key of the last item, as DynamoDB gives it; the fake reads its sort key.
			res["LastEvaluatedKey"] = wireItemOf(o.LastEvaluatedKey)
		}
		out = res
	case "BatchGetItem":
		req := map[string]types.KeysAndAttributes{}
		for name, ka := range in.RequestItems {
			keys := make([]map[string]types.AttributeValue, len(ka.Keys))
			for i, k := range ka.Keys {
				keys[i] = k.values()
			}
			req[name] = types.KeysAndAttributes{Keys: keys}
		}
		o, _ := m.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		resp := map[string][]json.RawMessage{}
		for name, items := range o.Responses {
			for _, it := range items {
				resp[name] = append(resp[name], m.wireOfItem(it))
			}
		}
		out = map[string]any{"Responses": resp, "UnprocessedKeys": map[string]any{}}
	default:
		err = fmt.Errorf("operation %q not served", op)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"__type":"com.amazon.coral.validate#ValidationException","message":%q}`, err.Error()), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

// wireOfItem is an item in DynamoDB's JSON, encoded once per version of the item: the fake
// answers as fast as it can, so that the time is the digest's and the SDK's, not the fake's.
func (m *memTable) wireOfItem(item map[string]types.AttributeValue) json.RawMessage {
	k := [2]string{sv(item, table.PK), sv(item, table.SK)}
	m.wireMu.Lock()
	defer m.wireMu.Unlock()
	if b, ok := m.wire[k]; ok {
		return b
	}
	b, _ := json.Marshal(wireItemOf(item))
	if m.wire == nil {
		m.wire = map[[2]string]json.RawMessage{}
	}
	m.wire[k] = b
	return b
}

// wireInput is the part of a request the fake reads.
type wireInput struct {
	Item                      wireItem
	Key                       wireItem
	IndexName                 *string
	ExpressionAttributeValues wireItem
	ExclusiveStartKey         wireItem
	Limit                     *int32
	RequestItems              map[string]struct{ Keys []wireItem }
}

// wireItem is an item in DynamoDB's JSON: attribute name to {"S": ...}, {"N": ...}, ...
type wireItem map[string]wireValue

func (w wireItem) values() map[string]types.AttributeValue {
	if w == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(w))
	for k, v := range w {
		out[k] = v.v
	}
	return out
}

func wireItemOf(item map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		out[k] = wireOf(v)
	}
	return out
}

// wireValue is one attribute value in DynamoDB's JSON.
type wireValue struct{ v types.AttributeValue }

func (w *wireValue) UnmarshalJSON(b []byte) error {
	var raw struct {
		S    *string
		N    *string
		B    []byte
		BOOL *bool
		NULL *bool
		L    []wireValue
		M    map[string]wireValue
		SS   []string
		NS   []string
		BS   [][]byte
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	switch {
	case raw.S != nil:
		w.v = &types.AttributeValueMemberS{Value: *raw.S}
	case raw.N != nil:
		w.v = &types.AttributeValueMemberN{Value: *raw.N}
	case raw.B != nil:
		w.v = &types.AttributeValueMemberB{Value: raw.B}
	case raw.BOOL != nil:
		w.v = &types.AttributeValueMemberBOOL{Value: *raw.BOOL}
	case raw.NULL != nil:
		w.v = &types.AttributeValueMemberNULL{Value: true}
	case raw.L != nil:
		l := make([]types.AttributeValue, len(raw.L))
		for i, x := range raw.L {
			l[i] = x.v
		}
		w.v = &types.AttributeValueMemberL{Value: l}
	case raw.M != nil:
		m := make(map[string]types.AttributeValue, len(raw.M))
		for k, x := range raw.M {
			m[k] = x.v
		}
		w.v = &types.AttributeValueMemberM{Value: m}
	case raw.SS != nil:
		w.v = &types.AttributeValueMemberSS{Value: raw.SS}
	case raw.NS != nil:
		w.v = &types.AttributeValueMemberNS{Value: raw.NS}
	case raw.BS != nil:
		w.v = &types.AttributeValueMemberBS{Value: raw.BS}
	default:
		return errors.New("an attribute value of no known type")
	}
	return nil
}

func wireOf(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]string{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]string{"N": v.Value}
	case *types.AttributeValueMemberB:
		return map[string][]byte{"B": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]bool{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]bool{"NULL": true}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			l[i] = wireOf(x)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": wireItemOf(v.Value)}
	case *types.AttributeValueMemberSS:
		return map[string][]string{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string][]string{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		return map[string][][]byte{"BS": v.Value}
	}
	return nil
}
