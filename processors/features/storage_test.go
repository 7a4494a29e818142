package features

import (
	"slices"
	"testing"
	"time"

	"github.com/lovoo/goka/storage"
)

func openStorage(t *testing.T, dir string) *checkpointStorage {
	t.Helper()
	st, err := CheckpointBuilder(dir, time.Hour, nil)("table", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	return st.(*checkpointStorage)
}

// crash stops s without a last checkpoint, as a kill -9 would.
func crash(s *checkpointStorage) {
	close(s.stop)
	<-s.done
	_ = s.db.Close()
}

func get(t *testing.T, s storage.Storage, key string) string {
	t.Helper()
	v, err := s.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func TestCheckpointStorage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStorage(t, dir)
	if o, _ := s.GetOffset(-3); o != -3 {
		t.Fatalf("fresh storage offset %d, want the default", o)
	}
	buf := []byte("one")
	_ = s.Set("a", buf)
	buf[0] = 'X' // Set keeps its own copy
	_ = s.Set("b", []byte("two"))
	_ = s.Set("c", []byte("three"))
	_ = s.Delete("c")
	_ = s.SetOffset(5)
	if got := get(t, s, "a"); got != "one" {
		t.Errorf("a = %q", got)
	}
	if ok, _ := s.Has("c"); ok {
		t.Errorf("deleted key still there")
	}
	if err := s.checkpoint(); err != nil {
		t.Fatal(err)
	}
	// Writes after the checkpoint are lost in a crash; the checkpoint is not.
	_ = s.Set("a", []byte("newer"))
	_ = s.Set("d", []byte("four"))
	_ = s.SetOffset(9)
	crash(s)

	s = openStorage(t, dir)
	if o, _ := s.GetOffset(-3); o != 5 {
		t.Errorf("offset after crash %d, want 5 (the checkpoint's)", o)
	}
	if a, d := get(t, s, "a"), get(t, s, "d"); a != "one" || d != "" {
		t.Errorf("after crash a=%q d=%q, want the checkpoint's values", a, d)
	}
	_ = s.Set("e", []byte("five"))
	_ = s.SetOffset(11)
	if err := s.Close(); err != nil { // Close checkpoints
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	s = openStorage(t, dir)
	defer s.Close()
	if o, _ := s.GetOffset(-3); o != 11 || get(t, s, "e") != "five" {
		t.Errorf("after close: offset %d, e=%q", o, get(t, s, "e"))
	}
	it, _ := s.Iterator()
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	it.Release()
	if !slices.Equal(keys, []string{"a", "b", "e"}) {
		t.Errorf("iterated %v", keys)
	}
	it, _ = s.IteratorWithRange([]byte("b"), []byte("e"))
	keys = nil
	for it.Next() {
		v, _ := it.Value()
		keys = append(keys, string(it.Key())+"="+string(v))
	}
	if !slices.Equal(keys, []string{"b=two"}) {
		t.Errorf("range iterated %v", keys)
	}
}

func TestCheckpointStorageReadsGokasLevelDBFolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	g, err := storage.DefaultBuilder(dir)("table", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	_ = g.Set("k", []byte("v"))
	_ = g.SetOffset(42)
	_ = g.MarkRecovered()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	s := openStorage(t, dir)
	defer s.Close()
	if o, _ := s.GetOffset(-3); o != 42 || get(t, s, "k") != "v" {
		t.Errorf("offset %d, k=%q", o, get(t, s, "k"))
	}
}
