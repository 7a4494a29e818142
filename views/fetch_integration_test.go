package views_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/mlflow"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// TestIntegrationFetchedModel runs the model feed on the real broker with
// the real MLflow: a model of more than 50 MB published by runs:/ URI is
// fetched, verified and served; an event whose artifact cannot be fetched
// and one whose fetched artifact is corrupt are refused, the previous model
// keeps serving, and the registry's champion moving to a refused version
// shows as divergence (status and metric).
func TestIntegrationFetchedModel(t *testing.T) {
	cfg := testkit.Kafka(t)
	ml := testkit.NewMLflow(t)
	names := testkit.Names(t, cfg)
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()

	big := testkit.LightGBMModel(features.Names(), 1200, 10, 7)
	if len(big) < 50<<20 {
		t.Fatalf("synthetic model is %d bytes, want at least 50 MB", len(big))
	}
	sum := sha256.Sum256(big)
	sha := hex.EncodeToString(sum[:])
	run, root := ml.Run()
	ml.Upload(root, "export/model.txt", big)
	corrupt := append([]byte(nil), big...)
	corrupt[len(corrupt)/2] ^= 1
	ml.Upload(root, "export/corrupt.txt", corrupt)
	registered := "storecast-test-" + testkit.UniqueSuffix(t)
	v1 := ml.Register(registered, run)
	ml.SetAlias(registered, model.AliasChampion, v1)

	event := func(version, path string) []byte {
		ev := &topics.ModelEvent{V: topics.ModelEventVersion, Name: model.GlobalModelName, Version: version, RunID: run,
			FeatureNames: features.Names(), FeatureSchema: features.SchemaVersion, Format: topics.FormatLightGBMText,
			Transform: model.TransformLog1p, SHA256: sha, ArtifactURI: "runs:/" + run + "/" + path, At: time.Now().UTC()}
		b, err := topics.ModelEventCodec{}.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mc, err := mlflow.New(mlflow.Config{TrackingURI: ml.URL})
	if err != nil {
		t.Fatal(err)
	}
	registry, models := forecasting.NewRegistryModels(features.Names(), log, model.WithFetcher(mc))
	feed := views.NewModelFeed(client(t, cfg), string(names.Models), registry, log, views.NewModelFeedMetrics(reg))
	watch := views.NewRegistryWatch(registered, mc, views.ServedBy(registry, model.GlobalModelName), time.Hour, log, reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	testkit.Produce(t, cfg, string(names.Models), model.GlobalModelName, event(v1, "export/model.txt"))
	deadline := time.Now().Add(3 * time.Minute)
	for m := models.Default(); m == nil || m.Meta().Version != v1; m = models.Default() {
		if time.Now().After(deadline) {
			o, _ := registry.Latest(model.GlobalModelName)
			t.Fatalf("the fetched model does not serve after 3m (latest offer %+v)", o)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
	meta := models.Default().Meta()
	t.Logf("fetched %d bytes (%d trees) and served in %s", meta.Size, meta.Trees, time.Since(start).Round(time.Millisecond))
	if meta.Source != model.SourceFetched || meta.Size != len(big) || meta.Trees != 1200 || meta.SHA256 != sha {
		t.Fatalf("served %+v", meta)
	}
	x := make([]float64, len(features.Names()))
	if p, err := models.Default().Predict(x, 1); err != nil || p.Sales <= 0 {
		t.Fatalf("predict: %v %v", p, err)
	}
	if st := watch.Check(ctx); st.Err != nil || !st.InStep || st.Champion != v1 {
		t.Fatalf("registry status %+v, want in step at %s", st, v1)
	}

	// A version whose artifact is not there, then one whose artifact is corrupt.
	for _, c := range []struct {
		version, path string
		want          error
	}{{"101", "export/missing.txt", model.ErrFetch}, {"102", "export/corrupt.txt", model.ErrChecksum}} {
		testkit.Produce(t, cfg, string(names.Models), model.GlobalModelName, event(c.version, c.path))
		eventually(t, "the offer of "+c.version, func() bool {
			o, _ := registry.Latest(model.GlobalModelName)
			return o.Version == c.version
		})
		o, _ := registry.Latest(model.GlobalModelName)
		if !errors.Is(o.Err, c.want) {
			t.Errorf("version %s: offer error %v, want %v", c.version, o.Err, c.want)
		}
		if m := models.Default(); m == nil || m.Meta().Version != v1 {
			t.Fatalf("version %s refused, but version %s no longer serves", c.version, v1)
		}
	}
	// The registry moves on to a version serving refused: visible.
	v2 := ml.Register(registered, run)
	ml.SetAlias(registered, model.AliasChampion, v2)
	ml.SetAlias(registered, model.AliasChallenger, v1)
	st := watch.Check(ctx)
	if st.InStep || st.Champion != v2 || st.Challenger != v1 {
		t.Errorf("registry status %+v, want champion %s out of step", st, v2)
	}
	if got := divergedGauge(t, reg, registered); got != 1 {
		t.Errorf("storecast_model_registry_diverged = %v, want 1", got)
	}
}

// divergedGauge returns storecast_model_registry_diverged{name}.
func divergedGauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "storecast_model_registry_diverged" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no storecast_model_registry_diverged{name=%q}", name)
	return 0
}
