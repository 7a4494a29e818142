package model

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/storecast/storecast/topics"
)

type countingObserver struct{ ok, refused atomic.Int64 }

func (o *countingObserver) ModelOffered(_, _ string, err error) {
	if err != nil {
		o.refused.Add(1)
	} else {
		o.ok.Add(1)
	}
}

func tinyEvent(name, version string, text string) *topics.ModelEvent {
	meta := tinyMeta(text)
	return &topics.ModelEvent{V: topics.ModelEventVersion, Name: name, Version: version, SHA256: meta.SHA256,
		Format: meta.Format, Transform: TransformNone, FeatureNames: tinyNames, Artifact: []byte(text)}
}

func TestRegistryKeepsPreviousOnRefusal(t *testing.T) {
	t.Parallel()
	obs := &countingObserver{}
	r := NewRegistry(tinyNames, nil, obs)
	if _, err := r.ForStore(7); !errors.Is(err, ErrNoModel) {
		t.Fatalf("empty registry: err = %v, want ErrNoModel", err)
	}
	if err := r.Offer(context.Background(), tinyEvent(GlobalModelName, "1", tinyModel)); err != nil {
		t.Fatal(err)
	}
	bad := tinyEvent(GlobalModelName, "2", tinyModel)
	bad.SHA256 = digest([]byte("tampered"))
	if err := r.Offer(context.Background(), bad); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Offer(bad checksum) = %v, want ErrChecksum", err)
	}
	m, err := r.ForStore(7)
	if err != nil || m.Meta().Version != "1" {
		t.Fatalf("after refusal serving %v (%v), want version 1", m, err)
	}
	other := tinyEvent(GlobalModelName, "3", tinyModel)
	other.FeatureNames = []string{"a", "c"}
	if err := r.Offer(context.Background(), other); !errors.Is(err, ErrSchema) {
		t.Fatalf("Offer(other schema) = %v, want ErrSchema", err)
	}
	if err := r.Offer(context.Background(), tinyEvent(GlobalModelName, "4", tinyModel)); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.ForStore(7); m.Meta().Version != "4" {
		t.Errorf("serving version %s, want 4", m.Meta().Version)
	}
	if err := r.Offer(context.Background(), tinyEvent(StoreModelName(7), "1", tinyModel)); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.ForStore(7); m.Meta().Name != "storecast-sales-store-7" {
		t.Errorf("store 7 served by %s, want its own model", m.Meta().Name)
	}
	if m, _ := r.ForStore(8); m.Meta().Name != GlobalModelName {
		t.Errorf("store 8 served by %s, want the global model", m.Meta().Name)
	}
	loaded, refused := r.Stats()
	if loaded != 3 || refused != 2 || obs.ok.Load() != 3 || obs.refused.Load() != 2 {
		t.Errorf("stats loaded=%d refused=%d observer ok=%d refused=%d, want 3 2 3 2", loaded, refused, obs.ok.Load(), obs.refused.Load())
	}
}

// TestRegistryConcurrentSwap predicts while models are swapped; run with
// -race.
func TestRegistryConcurrentSwap(t *testing.T) {
	t.Parallel()
	r := NewRegistry(nil, nil, nil)
	if err := r.Offer(context.Background(), tinyEvent(GlobalModelName, "0", tinyModel)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, err := r.ForStore(1)
				if err != nil {
					t.Error(err)
					return
				}
				if p, err := m.Predict([]float64{0, 0}); err != nil || p != 1.5 {
					t.Errorf("Predict = %v, %v", p, err)
					return
				}
			}
		}()
	}
	for i := 1; i <= 50; i++ {
		if err := r.Offer(context.Background(), tinyEvent(GlobalModelName, "v", tinyModel)); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
