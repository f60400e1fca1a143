package rules

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Message is one message of a local queue, as a consumer would receive it from SQS.
type Message struct {
	MessageID string    `json:"message_id"`
	Body      string    `json:"body"`
	SentAt    time.Time `json:"sent_at"`
	// Rule and Target are the rule's logical ID and the target's Id that sent it (local only: SQS
	// does not say).
	Rule   string `json:"rule"`
	Target string `json:"target"`
	// Attributes are the message attributes EventBridge sets on a dead-lettered event.
	Attributes map[string]string `json:"attributes,omitempty"`
}

func (e *Engine) enqueue(queue string, m Message) {
	m.MessageID = newUUID()
	m.SentAt = e.now().UTC()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queues[queue] = append(e.queues[queue], m)
}

// Queue returns the messages of a queue (by its logical ID), oldest first: none for an empty queue
// or one the template does not have (Queues lists those it has).
func (e *Engine) Queue(name string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Message(nil), e.queues[name]...)
}

// Queues lists the template's queues by logical ID.
func (e *Engine) Queues() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.queues))
	for n := range e.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Purge empties a queue; false when there is no such queue.
func (e *Engine) Purge(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.queues[name]; !ok {
		return false
	}
	e.queues[name] = nil
	return true
}

// QueuesPath is where QueuesHandler expects to be mounted.
const QueuesPath = "/_local/queues"

// QueuesHandler is the local-only view of the queues, mounted at QueuesPath:
//
//	GET    /_local/queues          {"queues": [{"name": "NewCallFollowUpQueue", "messages": 2}, …]}
//	GET    /_local/queues/{name}   {"queue": "…", "messages": [{"message_id", "body", "sent_at", "rule", "target"}, …]}
//	DELETE /_local/queues/{name}   empty the queue
//
// {name} is the queue's logical ID in template.yaml.
func (e *Engine) QueuesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/")
		name, hasName := strings.CutPrefix(p, QueuesPath+"/")
		switch {
		case p == QueuesPath && r.Method == http.MethodGet:
			type queueInfo struct {
				Name     string `json:"name"`
				Messages int    `json:"messages"`
			}
			list := []queueInfo{}
			for _, n := range e.Queues() {
				list = append(list, queueInfo{Name: n, Messages: len(e.Queue(n))})
			}
			writeJSON(w, http.StatusOK, map[string]any{"queues": list})
		case hasName && !strings.Contains(name, "/") && r.Method == http.MethodGet:
			msgs := e.Queue(name)
			if msgs == nil && !e.hasQueue(name) {
				writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such queue in template.yaml (or its condition is off)"})
				return
			}
			if msgs == nil {
				msgs = []Message{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"queue": name, "messages": msgs})
		case hasName && !strings.Contains(name, "/") && r.Method == http.MethodDelete:
			if !e.Purge(name) {
				writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such queue in template.yaml (or its condition is off)"})
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "not found"})
		}
	})
}

func (e *Engine) hasQueue(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.queues[name]
	return ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newUUID is a random (version 4) UUID, the form of SQS message IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
