package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

type fakeOffers struct{ o model.Offered }

func (f fakeOffers) Latest(string) (model.Offered, bool) { return f.o, f.o.Version != "" }

type fakeAliases struct{ st views.RegistryStatus }

func (f fakeAliases) Status() views.RegistryStatus { return f.st }

type fakeAsOf struct{ rep views.AsOf }

func (f fakeAsOf) AsOfReport() (views.AsOf, bool, error) { return f.rep, true, nil }

// TestModelInfoTellsTheLifecycle: /model/info shows the latest offer (a
// refused version with its reason), the registry's champion beside the
// served version, and how the as-of day was derived with the excluded
// stores; and with no model served, the 503 names the refusal.
func TestModelInfoTellsTheLifecycle(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	refused := model.Offered{Version: "4", Err: errors.New("load storecast-sales v4: artifact fetch failed: 404"), At: at}
	day := topics.DateFromYMD(2015, 6, 19)
	h := newHarness(t, func(_ *harness, fc *ForecastConfig, _ *TrainConfig) {
		fc.Offers = fakeOffers{refused}
		fc.Registry = fakeAliases{views.RegistryStatus{Champion: "4", Challenger: "3", InStep: false, CheckedAt: at}}
		fc.AsOf = fakeAsOf{views.AsOf{Day: day, Rule: "the latest day at least half of the stores have sales for", Stores: 5, Excluded: []views.ExcludedStore{{Store: 9, Latest: day - 60, Reason: "no sales since ..."}}}}
	})
	r := h.do("f", "GET", "/model/info", "")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.body)
	}
	var info struct {
		Version     string `json:"version"`
		LatestOffer struct {
			Version string `json:"version"`
			Loaded  bool   `json:"loaded"`
			Error   string `json:"error"`
		} `json:"latest_offer"`
		Registry struct {
			Champion, Challenger string
			InStep               bool `json:"in_step"`
		} `json:"registry"`
		AsOf struct {
			Day      string `json:"day"`
			Rule     string `json:"rule"`
			Excluded []struct {
				StoreID int `json:"store_id"`
			} `json:"excluded"`
		} `json:"as_of"`
	}
	if err := json.Unmarshal(r.body, &info); err != nil {
		t.Fatal(err)
	}
	if info.Version != "3" || info.LatestOffer.Version != "4" || info.LatestOffer.Loaded || info.LatestOffer.Error == "" {
		t.Errorf("served %s, latest offer %+v", info.Version, info.LatestOffer)
	}
	if info.Registry.Champion != "4" || info.Registry.Challenger != "3" || info.Registry.InStep {
		t.Errorf("registry %+v", info.Registry)
	}
	if info.AsOf.Day != "2015-06-19" || info.AsOf.Rule != "the latest day at least half of the stores have sales for" || len(info.AsOf.Excluded) != 1 || info.AsOf.Excluded[0].StoreID != 9 {
		t.Errorf("as_of %+v", info.AsOf)
	}

	h.models.def = nil
	r = h.do("f", "GET", "/model/info", "")
	p := r.json(t)
	if detail, _ := p["detail"].(string); r.Code != http.StatusServiceUnavailable || p["type"] != typeNoModel || !strings.Contains(detail, "(version 4) was refused") {
		t.Errorf("no model: %d %v", r.Code, p)
	}
}
