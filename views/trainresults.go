package views

import (
	"sync"

	"github.com/storecast/storecast/topics"
)

// ResultTracker is the in-memory state of train requests: a map from request id to
// its latest topics.TrainResult, fed by Observe (from a tail of
// train_results), with change notification for waiters.
type ResultTracker struct {
	mu      sync.Mutex
	latest  map[string]topics.TrainResult
	changed map[string]chan struct{}
}

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
	if old, ok := t.latest[res.ID]; ok && old.Status != topics.TrainPending && res.At.Before(old.At) {
		return
	}
	t.latest[res.ID] = *res
	if ch, ok := t.changed[res.ID]; ok {
		close(ch)
		delete(t.changed, res.ID)
	}
}

// Expect records that id was requested, so it reads as pending until
// its first result arrives.
func (t *ResultTracker) Expect(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.latest[id]; !ok {
		t.latest[id] = topics.TrainResult{V: topics.TrainResultVersion, ID: id, Status: topics.TrainPending}
	}
}

// Status returns the latest result of id (Status topics.TrainPending
// when it is expected but has none yet); found is false for an id never
// seen.
func (t *ResultTracker) Status(id string) (topics.TrainResult, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.latest[id]
	return r, ok
}

// Changed returns a channel closed at the next result of id.
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
