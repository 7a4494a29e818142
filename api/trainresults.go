package api

import (
	"sync"

	"github.com/storecast/storecast/topics"
)

// TrainPending is the status of a train request the trainer has not
// reported on yet.
const TrainPending = "pending"

// ResultTracker is the in-memory TrainResults: a map from request id to
// its latest topics.TrainResult, fed by Observe (from a tail of
// train_results), with change notification for waiters.
type ResultTracker struct {
	mu      sync.Mutex
	latest  map[string]topics.TrainResult
	changed map[string]chan struct{}
}

var _ TrainResults = (*ResultTracker)(nil)

// NewResultTracker returns an empty tracker.
func NewResultTracker() *ResultTracker {
	return &ResultTracker{latest: make(map[string]topics.TrainResult), changed: make(map[string]chan struct{})}
}

// Observe records res as the latest result of res.ID, unless an earlier
// record with a later At is already held (compaction keeps the latest
// anyway; this guards against reordering).
func (t *ResultTracker) Observe(res *topics.TrainResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.latest[res.ID]; ok && old.Status != TrainPending && res.At.Before(old.At) {
		return
	}
	t.latest[res.ID] = *res
	if ch, ok := t.changed[res.ID]; ok {
		close(ch)
		delete(t.changed, res.ID)
	}
}

// Expect implements TrainResults.
func (t *ResultTracker) Expect(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.latest[id]; !ok {
		t.latest[id] = topics.TrainResult{V: topics.TrainResultVersion, ID: id, Status: TrainPending}
	}
}

// Status implements TrainResults.
func (t *ResultTracker) Status(id string) (topics.TrainResult, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.latest[id]
	return r, ok
}

// Changed implements TrainResults.
func (t *ResultTracker) Changed(id string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch, ok := t.changed[id]
	if !ok {
		ch = make(chan struct{})
		t.changed[id] = ch
	}
	return ch
}
