package stores

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

type fakeStates map[int]*features.State

func (f fakeStates) Get(store int) (*features.State, bool, error) {
	if store == 666 {
		return nil, false, errors.New("boom")
	}
	s, ok := f[store]
	return s, ok, nil
}

type fakeInfos map[int]*views.StoreInfo

func (f fakeInfos) Get(store int) (*views.StoreInfo, bool, error) {
	s, ok := f[store]
	return s, ok, nil
}

var latest = topics.DateFromYMD(2015, 6, 19)

func fixture(t *testing.T, ready bool) http.Handler {
	t.Helper()
	s := historyState()
	info := func(id int) *views.StoreInfo {
		si := &topics.StoreInfo{V: 1, Store: id, StoreType: "a", Assortment: "c"}
		return &views.StoreInfo{StoreInfo: si, Features: features.NewInfo(si)}
	}
	h, err := NewHandler(Config{
		States: fakeStates{1: s},
		Infos:  fakeInfos{1: info(1), 2: info(2), 666: info(666)},
		Ready:  func() bool { return ready },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type call struct {
	name, method, path string
	field              string // for 400
	check              func(t *testing.T, body []byte)
}

func run(t *testing.T, h http.Handler, status int, cases []call) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.method
			if m == "" {
				m = http.MethodGet
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(m, c.path, nil))
			if rec.Code != status {
				t.Fatalf("%s %s: status %d, want %d; body %s", m, c.path, rec.Code, status, rec.Body)
			}
			if status >= 400 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("content type %q", ct)
				}
				var p problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != status || p.Type == "" || p.Detail == "" {
					t.Errorf("problem %+v (%v)", p, err)
				}
				if c.field != "" && p.Field != c.field {
					t.Errorf("problem field %q, want %q (%s)", p.Field, c.field, p.Detail)
				}
			}
			if c.check != nil {
				c.check(t, rec.Body.Bytes())
			}
		})
	}
}

func TestStoresOK(t *testing.T) {
	h := fixture(t, true)
	run(t, h, http.StatusOK, []call{
		{name: "summary", path: "/1", check: func(t *testing.T, b []byte) {
			var s Summary
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.Store != 1 || s.DaysHeld != 301 || s.LatestDay == nil || *s.LatestDay != latest || s.Info.Assortment != "c" {
				t.Errorf("summary %+v", s)
			}
			if m := s.ByWeekday["2"]; m == nil || *m != 4200 {
				t.Errorf("Tuesday mean %v, want 4200", m)
			}
			if s.ByWeekday["7"] != nil || s.OpenByDay["7"] == nil || *s.OpenByDay["7"] != 0 {
				t.Errorf("Sunday: mean %v, open ratio %v", s.ByWeekday["7"], s.OpenByDay["7"])
			}
			if s.Means["mean_customers"] == nil || *s.Means["mean_customers"] != 500 {
				t.Errorf("means %v", s.Means)
			}
		}},
		{name: "summary of a store without sales", path: "/2", check: func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), `"days_held":0`) || !strings.Contains(string(b), `"latest_day":null`) {
				t.Errorf("body %s", b)
			}
		}},
		{name: "features with defaults", path: "/1/features?date=2015-06-22", check: func(t *testing.T, b []byte) {
			var f FeaturesResponse
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			if f.AsOf != latest || f.Horizon != 3 || f.Schema != features.SchemaVersion || len(f.Features.Names) != features.NumFeatures {
				t.Errorf("response %+v", f)
			}
			if v, _ := f.Features.Get("promo"); v != 0 {
				t.Errorf("promo %v", v)
			}
		}},
		{name: "features with every parameter", path: "/1/features?date=2015-07-01&as_of=2015-06-10&promo=1&state_holiday=a&school_holiday=1&open=1", check: func(t *testing.T, b []byte) {
			var f FeaturesResponse
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			// The days around the target: the state's, else assumed from it.
			st, target := historyState(), topics.DateFromYMD(2015, 7, 1)
			k := features.Known{Open: true, Promo: true, SchoolHoliday: true, StateHoliday: 1}
			k.Around(func(d topics.Date) (features.Neighbour, bool) {
				if f, ok := st.Fact(d); ok {
					return features.KnownFromFact(f).AsNeighbour(), true
				}
				n := st.Assumed(d, true)
				return n, n.Set
			}, target)
			want, err := features.Compute(st, ptrInfo(1), target, topics.DateFromYMD(2015, 6, 10), k)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				if g := f.Features.Values[i]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Errorf("%s = %v, want %v", f.Features.Names[i], g, w)
				}
			}
		}},
	})
}

// historyState is 301 days of store 1: closed on Sundays, sales by weekday.
func historyState() *features.State {
	var s features.State
	for d := latest - 300; d <= latest; d++ {
		f := features.Fact{Date: d, Open: d.Weekday() != 7, Promo: d.Weekday() <= 5 && int(d)/7%2 == 0}
		if f.Open {
			f.Sales, f.Customers = uint32(4000+100*d.Weekday()), 500
		}
		s.Apply(f)
	}
	return &s
}

func ptrInfo(id int) *features.Info {
	i := features.NewInfo(&topics.StoreInfo{V: 1, Store: id, StoreType: "a", Assortment: "c"})
	return &i
}

func TestStoresBadRequest(t *testing.T) {
	h := fixture(t, true)
	run(t, h, http.StatusBadRequest, []call{
		{name: "id not a number", path: "/abc", field: "id"},
		{name: "id zero", path: "/0/features?date=2015-06-22", field: "id"},
		{name: "date missing", path: "/1/features", field: "date"},
		{name: "date malformed", path: "/1/features?date=2015-13-01", field: "date"},
		{name: "as_of malformed", path: "/1/features?date=2015-06-22&as_of=yesterday", field: "as_of"},
		{name: "horizon 0", path: "/1/features?date=2015-06-19", field: "date"},
		{name: "horizon 49", path: "/1/features?date=2015-08-07", field: "date"},
		{name: "as_of before the ring", path: "/1/features?date=2015-02-10&as_of=2015-02-01", field: "as_of"},
		{name: "promo 2", path: "/1/features?date=2015-06-22&promo=2", field: "promo"},
		{name: "school holiday x", path: "/1/features?date=2015-06-22&school_holiday=x", field: "school_holiday"},
		{name: "open 5", path: "/1/features?date=2015-06-22&open=5", field: "open"},
		{name: "state holiday d", path: "/1/features?date=2015-06-22&state_holiday=d", field: "state_holiday"},
	})
}

func TestStoresNotFound(t *testing.T) {
	h := fixture(t, true)
	run(t, h, http.StatusNotFound, []call{
		{name: "unknown store", path: "/99"},
		{name: "features of an unknown store", path: "/99/features?date=2015-06-22"},
		{name: "features of a store without sales", path: "/2/features?date=2015-06-22"},
		{name: "unknown route", path: "/1/nope"},
	})
}

func TestStoresOtherStatuses(t *testing.T) {
	run(t, fixture(t, true), http.StatusMethodNotAllowed, []call{{name: "POST", method: http.MethodPost, path: "/1"}})
	run(t, fixture(t, true), http.StatusInternalServerError, []call{{name: "reader fails", path: "/666"}})
	run(t, fixture(t, false), http.StatusServiceUnavailable, []call{{name: "views recovering", path: "/1"}})
}

func TestListStores(t *testing.T) {
	t.Parallel()
	dist := 100.0
	infos := fakeInfos{}
	for id, typ := range map[int]string{1: "a", 2: "b", 3: "a"} {
		si := &topics.StoreInfo{V: 1, Store: id, StoreType: typ, Assortment: "c", CompetitionDistance: &dist}
		infos[id] = &views.StoreInfo{StoreInfo: si, Features: features.NewInfo(si)}
	}
	ids := func() ([]int, error) { return []int{1, 2, 3, 4}, nil }
	h, err := NewHandler(Config{States: fakeStates{}, Infos: infos, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	noIDs, _ := NewHandler(Config{States: fakeStates{}, Infos: infos})
	tests := []struct {
		name   string
		h      http.Handler
		target string
		status int
		want   []int
	}{
		{"every store in store_info", h, "/", http.StatusOK, []int{1, 2, 3}},
		{"by type", h, "/?type=a", http.StatusOK, []int{1, 3}},
		{"by assortment", h, "/?assortment=a", http.StatusOK, []int{}},
		{"bad type", h, "/?type=x", http.StatusBadRequest, nil},
		{"bad assortment", h, "/?assortment=ab", http.StatusBadRequest, nil},
		{"no list configured", noIDs, "/", http.StatusServiceUnavailable, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.target, nil))
			if rec.Code != tc.status {
				t.Fatalf("GET %s: %d %s, want %d", tc.target, rec.Code, rec.Body, tc.status)
			}
			if tc.want == nil {
				return
			}
			var body struct {
				Stores []Listed `json:"stores"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			got := []int{}
			for _, s := range body.Stores {
				got = append(got, s.Store)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("GET %s: stores %v, want %v", tc.target, got, tc.want)
			}
		})
	}
}
