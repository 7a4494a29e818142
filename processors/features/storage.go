package features

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// offsetKey is where goka's LevelDB storage keeps a partition's table
// offset; the checkpoint storage uses the same key and encoding, so either
// storage opens the other's folders.
const offsetKey = "__offset"

// CheckpointBuilder returns a goka storage builder that keeps each table
// partition in memory and checkpoints it to LevelDB under dir every
// interval (and on recovery and close). A checkpoint writes the changed
// keys and the table offset in one atomic batch, so the folder always holds
// a consistent copy of the table at some offset; after a crash goka
// recovers the rest from the table topic, from that offset on.
//
// Compared with goka's LevelDB storage, a write costs a map update instead
// of a LevelDB put with a journal write (two, with the offset), and a read
// a map lookup instead of a memtable search. The table must fit in memory:
// one state per store.
func CheckpointBuilder(dir string, interval time.Duration, log *slog.Logger) storage.Builder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(topic string, partition int32) (storage.Storage, error) {
		path := filepath.Join(dir, fmt.Sprintf("%s.%d", topic, partition))
		db, err := leveldb.OpenFile(path, &opt.Options{WriteBuffer: 4 << 20})
		if err != nil {
			return nil, fmt.Errorf("open leveldb %s: %w", path, err)
		}
		return &checkpointStorage{db: db, path: path, every: interval, log: log.With("storage", path),
			m: map[string][]byte{}, dirty: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}, nil
	}
}

type checkpointStorage struct {
	db    *leveldb.DB
	path  string
	every time.Duration
	log   *slog.Logger

	mu    sync.RWMutex
	m     map[string][]byte
	dirty map[string]bool // changed since the last checkpoint

	offset    atomic.Int64
	hasOffset atomic.Bool
	saved     int64 // offset of the last checkpoint (checkpoint goroutine and Close)

	ckMu      sync.Mutex // one checkpoint at a time
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ storage.Storage = (*checkpointStorage)(nil)

// Open loads the last checkpoint and starts checkpointing.
func (s *checkpointStorage) Open() error {
	it := s.db.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})
	for it.Next() {
		k := string(it.Key())
		if k == offsetKey {
			o, err := strconv.ParseInt(string(it.Value()), 10, 64)
			if err != nil {
				it.Release()
				return fmt.Errorf("storage %s: bad offset %q: %w", s.path, it.Value(), err)
			}
			s.offset.Store(o)
			s.hasOffset.Store(true)
			s.saved = o
			continue
		}
		s.m[k] = bytes.Clone(it.Value())
	}
	it.Release()
	if err := it.Error(); err != nil {
		return fmt.Errorf("storage %s: load: %w", s.path, err)
	}
	go s.loop()
	return nil
}

func (s *checkpointStorage) loop() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.checkpoint(); err != nil {
				s.log.Error("checkpoint failed; retrying at the next one", "err", err)
			}
		}
	}
}

// checkpoint writes the changed keys and the offset in one batch.
func (s *checkpointStorage) checkpoint() error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if !s.hasOffset.Load() {
		return nil // nothing recovered or written yet
	}
	// The offset first: every value in the map is at least as new as it.
	off := s.offset.Load()
	s.mu.Lock()
	if len(s.dirty) == 0 && off == s.saved {
		s.mu.Unlock()
		return nil
	}
	b := new(leveldb.Batch)
	for k := range s.dirty {
		if v, ok := s.m[k]; ok {
			b.Put([]byte(k), v)
		} else {
			b.Delete([]byte(k))
		}
	}
	dirty := s.dirty
	s.dirty = map[string]bool{}
	s.mu.Unlock()
	b.Put([]byte(offsetKey), strconv.AppendInt(nil, off, 10))
	if err := s.db.Write(b, nil); err != nil {
		s.mu.Lock()
		for k := range dirty { // keep them for the next attempt
			s.dirty[k] = true
		}
		s.mu.Unlock()
		return fmt.Errorf("storage %s: checkpoint: %w", s.path, err)
	}
	s.saved = off
	return nil
}

// Close writes a last checkpoint and closes LevelDB.
func (s *checkpointStorage) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		err = errors.Join(s.checkpoint(), s.db.Close())
	})
	return err
}

func (s *checkpointStorage) Has(key string) (bool, error) {
	s.mu.RLock()
	_, ok := s.m[key]
	s.mu.RUnlock()
	return ok, nil
}

// Get returns the stored slice itself: callers must not modify it.
func (s *checkpointStorage) Get(key string) ([]byte, error) {
	s.mu.RLock()
	v := s.m[key]
	s.mu.RUnlock()
	return v, nil
}

func (s *checkpointStorage) Set(key string, value []byte) error {
	v := bytes.Clone(value) // recovery hands in slices of sarama's fetch buffers
	s.mu.Lock()
	s.m[key] = v
	s.dirty[key] = true
	s.mu.Unlock()
	return nil
}

func (s *checkpointStorage) Delete(key string) error {
	s.mu.Lock()
	delete(s.m, key)
	s.dirty[key] = true
	s.mu.Unlock()
	return nil
}

func (s *checkpointStorage) GetOffset(def int64) (int64, error) {
	if !s.hasOffset.Load() {
		return def, nil
	}
	return s.offset.Load(), nil
}

func (s *checkpointStorage) SetOffset(offset int64) error {
	s.offset.Store(offset)
	s.hasOffset.Store(true)
	return nil
}

// MarkRecovered checkpoints what recovery loaded.
func (s *checkpointStorage) MarkRecovered() error { return s.checkpoint() }

func (s *checkpointStorage) Iterator() (storage.Iterator, error) {
	return s.IteratorWithRange(nil, nil)
}

// IteratorWithRange iterates over a snapshot of the keys in [start, limit)
// (a nil limit: every key with the prefix start), like goka's LevelDB storage.
func (s *checkpointStorage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	r := &util.Range{Start: start, Limit: limit}
	if len(limit) == 0 {
		r = util.BytesPrefix(start)
	}
	s.mu.RLock()
	it := &memIterator{i: -1}
	for k, v := range s.m {
		kb := []byte(k)
		if (r.Start == nil || bytes.Compare(kb, r.Start) >= 0) && (r.Limit == nil || bytes.Compare(kb, r.Limit) < 0) {
			it.keys = append(it.keys, kb)
			it.vals = append(it.vals, v)
		}
	}
	s.mu.RUnlock()
	idx := make([]int, len(it.keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return bytes.Compare(it.keys[a], it.keys[b]) })
	keys, vals := make([][]byte, len(idx)), make([][]byte, len(idx))
	for i, j := range idx {
		keys[i], vals[i] = it.keys[j], it.vals[j]
	}
	it.keys, it.vals = keys, vals
	return it, nil
}

type memIterator struct {
	keys, vals [][]byte
	i          int
}

func (m *memIterator) Next() bool { m.i++; return m.i < len(m.keys) }
func (m *memIterator) Err() error { return nil }
func (m *memIterator) Key() []byte {
	if m.i < 0 || m.i >= len(m.keys) {
		return nil
	}
	return m.keys[m.i]
}
func (m *memIterator) Value() ([]byte, error) {
	if m.i < 0 || m.i >= len(m.vals) {
		return nil, nil
	}
	return m.vals[m.i], nil
}
func (m *memIterator) Release() { m.i = len(m.keys) }
func (m *memIterator) Seek(key []byte) bool {
	j, _ := slices.BinarySearchFunc(m.keys, key, bytes.Compare)
	m.i = j - 1
	return j < len(m.keys)
}
