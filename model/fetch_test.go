package model

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/storecast/storecast/topics"
)

// fakeFetcher serves body for runs:/r1/export/model.txt, like MLflow; err
// for everything else (nil err: not found).
type fakeFetcher struct {
	body string
	err  error
}

func (f fakeFetcher) Fetch(_ context.Context, uri string, limit int64) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if uri != "runs:/r1/export/model.txt" {
		return nil, errors.New("404 Not Found")
	}
	if int64(len(f.body)) > limit {
		return nil, errors.New("over the limit")
	}
	return []byte(f.body), nil
}

// TestRegistryFetchesByURI: an event naming its artifact by URI is fetched
// and verified like an inline one; a failed fetch or a corrupt artifact
// keeps the previous model serving, and Latest says why.
func TestRegistryFetchesByURI(t *testing.T) {
	t.Parallel()
	corrupt := fakeFetcher{body: strings.Replace(tinyModel, "leaf_value=", "leaf_value=9", 1)}
	byURI := func(version string) *topics.ModelEvent {
		ev := tinyEvent(GlobalModelName, version, tinyModel)
		ev.Artifact, ev.ArtifactURI = nil, "runs:/r1/export/model.txt"
		return ev
	}
	ctx := context.Background()
	r := NewRegistry(tinyNames, nil, nil, WithFetcher(fakeFetcher{body: tinyModel}))
	if err := r.Offer(ctx, byURI("1")); err != nil {
		t.Fatalf("fetched model refused: %v", err)
	}
	m, _ := r.Get(GlobalModelName)
	if md := m.Meta(); md.Source != SourceFetched || md.Size != len(tinyModel) || md.ArtifactURI == "" {
		t.Fatalf("meta source %q size %d uri %q", md.Source, md.Size, md.ArtifactURI)
	}
	if o, _ := r.Latest(GlobalModelName); o.Version != "1" || o.Err != nil {
		t.Fatalf("latest %+v", o)
	}

	down := NewRegistry(tinyNames, nil, nil, WithFetcher(fakeFetcher{err: errors.New("connection refused")}))
	bad := NewRegistry(tinyNames, nil, nil, WithFetcher(corrupt))
	none := NewRegistry(tinyNames, nil, nil)
	for _, c := range []struct {
		name string
		r    *Registry
		want error
	}{{"server down", down, ErrFetch}, {"corrupt artifact", bad, ErrChecksum}, {"no fetcher", none, ErrFetch}} {
		if err := c.r.Offer(ctx, tinyEvent(GlobalModelName, "1", tinyModel)); err != nil {
			t.Fatalf("%s: inline model: %v", c.name, err)
		}
		if err := c.r.Offer(ctx, byURI("2")); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if m, _ := c.r.Get(GlobalModelName); m == nil || m.Meta().Version != "1" || m.Meta().Source != SourceInline {
			t.Errorf("%s: the previous model does not serve", c.name)
		}
		if o, _ := c.r.Latest(GlobalModelName); o.Version != "2" || !errors.Is(o.Err, c.want) {
			t.Errorf("%s: latest %+v", c.name, o)
		}
	}
}
