package topics

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
)

var (
	_ goka.Codec = SaleCodec{}
	_ goka.Codec = ForecastResultCodec{}
)

func ptrInt(n int) *int                   { return &n }
func ptrFloat(x float64) *float64         { return &x }
func ptrDate(d Date) *Date                { return &d }
func at() time.Time                       { return time.Date(2015, 6, 19, 12, 30, 0, 123000000, time.UTC) }
func day(y int, m time.Month, d int) Date { return DateFromYMD(y, m, d) }

// roundTrip encodes v (a *T) with the event type's codec c, decodes it
// and compares; the codec must write the bytes encoding/json writes.
func roundTrip[T any](t *testing.T, name string, c goka.Codec, v *T) {
	t.Helper()
	b, err := c.Encode(v)
	if err != nil {
		t.Fatalf("%s: encode: %v", name, err)
	}
	if std, err := json.Marshal(v); err != nil || string(std) != string(b) {
		t.Fatalf("%s: codec wrote %s, encoding/json %s (%v)", name, b, std, err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatalf("%s: decode %s: %v", name, b, err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Errorf("%s: round trip\n got %+v\nwant %+v\njson %s", name, got, v, b)
	}
	// A value (not a pointer) encodes the same.
	b2, err := c.Encode(*v)
	if err != nil || string(b2) != string(b) {
		t.Errorf("%s: encoding a value gave %s, %v; want %s", name, b2, err, b)
	}
}

func TestCodecRoundTrips(t *testing.T) {
	t.Parallel()
	roundTrip(t, "sale", SaleCodec{}, &Sale{V: SaleVersion, Store: 1, DayOfWeek: 5, Date: day(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"})
	roundTrip(t, "sale zero", SaleCodec{}, &Sale{})
	roundTrip(t, "store info full", StoreInfoCodec{}, &StoreInfo{V: 1, Store: 2, StoreType: "a", Assortment: "a", CompetitionDistance: ptrFloat(570),
		CompetitionOpenSinceMonth: ptrInt(11), CompetitionOpenSinceYear: ptrInt(2007), Promo2: 1, Promo2SinceWeek: ptrInt(13), Promo2SinceYear: ptrInt(2010), PromoInterval: "Jan,Apr,Jul,Oct"})
	roundTrip(t, "store info missing numbers", StoreInfoCodec{}, &StoreInfo{V: 1, Store: 291, StoreType: "d", Assortment: "a"})
	roundTrip(t, "dead letter", DeadLetterCodec{}, &DeadLetter{V: 1, Source: "file", File: "train.csv", Line: 7, Key: "7", Payload: `7,1,2015-13-01,"0"`, Reason: "date: bad", Fields: []string{"date"}, Stage: "produce", At: at()})
	roundTrip(t, "dead letter kafka", DeadLetterCodec{}, &DeadLetter{V: 1, Source: "sale_rossman_store", Partition: 3, Offset: 99, Payload: "{", Reason: "decode", Stage: "features", At: at()})
	roundTrip(t, "training example", TrainingExampleCodec{}, &TrainingExample{V: 1, Store: 1, Date: day(2015, 6, 19), AsOf: day(2015, 6, 1), Horizon: 18, Label: 4202, Schema: "v1",
		Features: FeatureVector{Names: []string{"b", "a", "c"}, Values: []float64{1.5, -2, 1e-9}}})
	roundTrip(t, "train request", TrainRequestCodec{}, &TrainRequest{V: 1, ID: "r1", RequestedBy: "api", Store: 3, StartDate: ptrDate(day(2014, 1, 1)), EndDate: ptrDate(day(2015, 1, 1)), Params: map[string]string{"eta": "0.1"}, At: at()})
	roundTrip(t, "train result", TrainResultCodec{}, &TrainResult{V: 1, ID: "r1", Status: TrainSucceeded, RunID: "abc", ModelName: "m", Version: "3", Promoted: true, Metrics: map[string]float64{"rmspe": 0.12}, Rows: 10, At: at()})
	roundTrip(t, "model event", ModelEventCodec{}, &ModelEvent{V: 1, Name: "m", Version: "3", RunID: "abc", Metrics: map[string]float64{"rmspe": 0.1}, FeatureNames: []string{"a"}, FeatureSchema: "v1",
		Format: FormatLightGBMText, Transform: "log1p", SHA256: "00ff", Artifact: []byte("tree\x00\xff"), TrainedThrough: day(2015, 6, 19), At: at()})
	roundTrip(t, "forecast request", ForecastRequestCodec{}, &ForecastRequest{V: 1, RequestID: "q", Store: 4, AsOf: day(2015, 6, 19), Start: day(2015, 6, 20),
		Days: []KnownInputs{{Open: 1, Promo: 1, StateHoliday: "0"}, {StateHoliday: "a", SchoolHoliday: 1}}, At: at()})
	roundTrip(t, "forecast result", ForecastResultCodec{}, &ForecastResult{V: 1, ID: "f", RequestID: "q", Store: 4, Date: day(2015, 6, 21), AsOf: day(2015, 6, 19), Horizon: 2, PredictedSales: 5012.25, ModelName: "m", ModelVersion: "3", Source: "api", CreatedAt: at()})
	roundTrip(t, "snapshot request", SnapshotRequestCodec{}, &FeatureSnapshotRequest{V: 1, RequestID: "s", Store: 4, AsOf: day(2015, 6, 1), From: day(2015, 6, 2), To: day(2015, 6, 19)})
	roundTrip(t, "snapshot", SnapshotCodec{}, &FeatureSnapshot{V: 1, RequestID: "s", Store: 4, AsOf: day(2015, 6, 1), Examples: []TrainingExample{{V: 1, Store: 4, Date: day(2015, 6, 2), AsOf: day(2015, 6, 1), Horizon: 1, Label: 1, Schema: "v1",
		Features: FeatureVector{Names: []string{"x"}, Values: []float64{2}}}}})
}

func TestSaleJSONIsReadable(t *testing.T) {
	t.Parallel()
	b, err := SaleCodec{}.Encode(&Sale{V: 1, Store: 1, DayOfWeek: 5, Date: day(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"store":1,"day_of_week":5,"date":"2015-06-19","sales":4202,"customers":487,"open":1,"promo":1,"state_holiday":"0","school_holiday":0}`
	if string(b) != want {
		t.Errorf("sale JSON\n got %s\nwant %s", b, want)
	}
}

func TestCodecErrors(t *testing.T) {
	t.Parallel()
	if _, err := (SaleCodec{}).Encode(&StoreInfo{}); err == nil {
		t.Error("SaleCodec encoded a *StoreInfo")
	}
	if _, err := (SaleCodec{}).Encode("x"); err == nil {
		t.Error("SaleCodec encoded a string")
	}
	for _, in := range []string{"", "{", `{"date":"2015-02-30"}`, `{"store":"one"}`, `[1]`} {
		if _, err := (SaleCodec{}).Decode([]byte(in)); err == nil {
			t.Errorf("SaleCodec decoded %q", in)
		}
	}
}

// TestFeatureVectorNaN checks missing values travel as null and come back
// as NaN, and names keep their order.
func TestFeatureVectorNaN(t *testing.T) {
	t.Parallel()
	v := FeatureVector{Names: []string{"z", "a", "m"}, Values: []float64{1, math.NaN(), math.Inf(1)}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"z":1,"a":null,"m":null}` {
		t.Errorf("marshal: %s", b)
	}
	var back FeatureVector
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Names, v.Names) || back.Values[0] != 1 || !math.IsNaN(back.Values[1]) || !math.IsNaN(back.Values[2]) {
		t.Errorf("unmarshal: %+v", back)
	}
	if x, ok := back.Get("z"); !ok || x != 1 {
		t.Errorf("Get(z) = %v, %v", x, ok)
	}
	if _, ok := back.Get("nope"); ok {
		t.Error("Get found a missing name")
	}
	if _, err := json.Marshal(FeatureVector{Names: []string{"a"}}); err == nil || !strings.Contains(err.Error(), "1 names and 0 values") {
		t.Errorf("mismatched vector marshalled: %v", err)
	}
	for _, in := range []string{`[1]`, `{"a":"x"}`, `{"a":1`} {
		if err := json.Unmarshal([]byte(in), &back); err == nil {
			t.Errorf("unmarshalled %s", in)
		}
	}
}
