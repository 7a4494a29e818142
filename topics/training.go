package topics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// TrainingExampleVersion is the schema version of TrainingExample.
const TrainingExampleVersion = 1

// FeatureVector is an ordered list of named feature values. Missing values
// are NaN in Go and null in JSON. It marshals as a JSON object whose keys
// keep Names' order.
type FeatureVector struct {
	Names  []string
	Values []float64
}

// Get returns the value of the named feature and whether it exists.
func (v FeatureVector) Get(name string) (float64, bool) {
	for i, n := range v.Names {
		if n == name {
			return v.Values[i], true
		}
	}
	return 0, false
}

// MarshalJSON implements json.Marshaler.
func (v FeatureVector) MarshalJSON() ([]byte, error) {
	if len(v.Names) != len(v.Values) {
		return nil, fmt.Errorf("feature vector has %d names and %d values", len(v.Names), len(v.Values))
	}
	b := make([]byte, 0, 24*len(v.Names)+2)
	b = append(b, '{')
	for i, n := range v.Names {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, n)
		b = append(b, ':')
		b = appendFeature(b, v.Values[i])
	}
	return append(b, '}'), nil
}

// UnmarshalJSON implements json.Unmarshaler, keeping the keys' order.
func (v *FeatureVector) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return fmt.Errorf("feature vector: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("feature vector: want an object")
	}
	v.Names, v.Values = v.Names[:0], v.Values[:0]
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("feature vector: %w", err)
		}
		name, _ := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("feature vector %q: %w", name, err)
		}
		x := math.NaN()
		switch val := vt.(type) {
		case nil:
		case json.Number:
			if x, err = val.Float64(); err != nil {
				return fmt.Errorf("feature vector %q: %w", name, err)
			}
		default:
			return fmt.Errorf("feature vector %q: want a number or null", name)
		}
		v.Names = append(v.Names, name)
		v.Values = append(v.Values, x)
	}
	_, err = dec.Token()
	return err
}

// TrainingExample is one labelled row for the trainer: the features of
// (Store, Date) as a forecast made on AsOf would see them (Horizon =
// Date - AsOf days), and the day's actual sales. It is the value on
// TrainingExamples, keyed by ExampleKey(Store, Date) and partitioned like
// StoreKey(Store).
type TrainingExample struct {
	V       int     `json:"v"`
	Store   int     `json:"store"`
	Date    Date    `json:"date"`
	AsOf    Date    `json:"as_of"`
	Horizon int     `json:"horizon"`
	Label   float64 `json:"label"`
	// Schema names the feature schema version the features follow.
	Schema   string        `json:"schema"`
	Features FeatureVector `json:"features"`
}

// TrainRequestVersion is the schema version of a TrainRequest that asks
// for training.
const TrainRequestVersion = 1

// TrainRequestActionVersion is the schema version of a TrainRequest with
// an Action: version 2 adds Action, ModelName and ModelVersion. Training
// requests keep version 1, so a trainer that predates actions refuses a
// promote request (a failed TrainResult naming the version) instead of
// training.
const TrainRequestActionVersion = 2

// Train request actions.
const (
	// ActionPromote asks the trainer to make ModelName's ModelVersion the
	// champion: it verifies the version's artifact as after training
	// (checksum, golden rows through the export and Go's leaves), moves
	// the registry's champion alias (previous: the champion before) and
	// publishes the version's ModelEvent on Models. A rollback promotes
	// the previous champion.
	ActionPromote = "promote"
)

// TrainRequest asks the trainer for a model: the value on TrainRequests,
// keyed by ID. Store 0 means all stores; empty dates mean all data. With
// an Action (V = TrainRequestActionVersion) it asks for that instead of
// training. Promote requests share the topic with training requests so
// that every move of the champion is in one log, in one order.
type TrainRequest struct {
	V            int               `json:"v"`
	ID           string            `json:"id"`
	RequestedBy  string            `json:"requested_by"`
	Store        int               `json:"store_id,omitempty"`
	StartDate    *Date             `json:"start_date,omitempty"`
	EndDate      *Date             `json:"end_date,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
	Action       string            `json:"action,omitempty"`
	ModelName    string            `json:"model_name,omitempty"`
	ModelVersion string            `json:"model_version,omitempty"`
	At           time.Time         `json:"at"`
}

// PromoteRequest returns the request to promote version of the registered
// model name (ID and At are the caller's).
func PromoteRequest(id, requestedBy, name, version string, at time.Time) *TrainRequest {
	return &TrainRequest{V: TrainRequestActionVersion, ID: id, RequestedBy: requestedBy, Action: ActionPromote,
		ModelName: name, ModelVersion: version, At: at}
}

// TrainResultVersion is the schema version of TrainResult.
const TrainResultVersion = 1

// Train outcomes. TrainPending is never on the topic: it is the status a
// reader reports for a request the trainer has not answered yet.
const (
	TrainPending   = "pending"
	TrainRunning   = "running"
	TrainSucceeded = "succeeded"
	TrainFailed    = "failed"
)

// TrainResult is the outcome of a TrainRequest, keyed by its ID.
type TrainResult struct {
	V         int                `json:"v"`
	ID        string             `json:"id"`
	Status    string             `json:"status"`
	Reason    string             `json:"reason,omitempty"`
	RunID     string             `json:"run_id,omitempty"`
	ModelName string             `json:"model_name,omitempty"`
	Version   string             `json:"model_version,omitempty"`
	Promoted  bool               `json:"promoted"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Rows      int64              `json:"rows,omitempty"`
	At        time.Time          `json:"at"`
}

// ModelEventVersion is the schema version of ModelEvent.
const ModelEventVersion = 1

// Artifact formats a ModelEvent may carry.
const (
	// FormatLightGBMText is LightGBM's v3 text model format, which leaves reads.
	FormatLightGBMText = "lightgbm-text-v3"
)

// ModelEvent announces a promoted model: the value on Models, keyed by the
// registered model name. Artifact holds the model bytes (base64 in JSON);
// when it is empty, ArtifactURI names where to fetch them. SHA256 is the
// hex digest of the artifact bytes and must match before serving.
type ModelEvent struct {
	V              int                `json:"v"`
	Name           string             `json:"name"`
	Version        string             `json:"version"`
	RunID          string             `json:"run_id"`
	Metrics        map[string]float64 `json:"metrics"`
	FeatureNames   []string           `json:"feature_names"`
	FeatureSchema  string             `json:"feature_schema"`
	Format         string             `json:"format"`
	Transform      string             `json:"target_transform"`
	SHA256         string             `json:"sha256"`
	Artifact       []byte             `json:"artifact,omitempty"`
	ArtifactURI    string             `json:"artifact_uri,omitempty"`
	TrainedThrough Date               `json:"trained_through"`
	At             time.Time          `json:"at"`
	// Intervals are the model's prediction intervals; nil for models
	// published without them.
	Intervals *ModelIntervals `json:"intervals,omitempty"`
	// FeatureBins is the training distribution of each feature, for drift
	// monitoring; optional (older events have none).
	FeatureBins []FeatureBins `json:"feature_bins,omitempty"`
	// Protocol names the validation protocol the trainer made its choices
	// under (trees, calibration, intervals); empty for older models.
	Protocol string `json:"protocol,omitempty"`
}

// FeatureBins is one feature's distribution over a model's training
// examples. Bin i holds the values in (Edges[i-1], Edges[i]]: the first bin
// everything up to Edges[0], the last everything above the last edge.
// Fractions (len(Edges)+1 of them) and Missing (NaN values) are the shares
// of the training examples and sum to 1.
type FeatureBins struct {
	Feature   string    `json:"feature"`
	Edges     []float64 `json:"edges"`
	Fractions []float64 `json:"fractions"`
	Missing   float64   `json:"missing"`
}

// ModelIntervals are a model's prediction intervals: quantiles of the
// residuals target - margin (log1p(sales) - margin for log1p models) by
// horizon week, fitted by the trainer on rows the model did not learn
// from. Week i (0-based) holds horizons WeekDays*i+1..WeekDays*(i+1); the
// last week also holds every longer horizon.
type ModelIntervals struct {
	// Level is the nominal coverage, e.g. 0.8.
	Level float64 `json:"level"`
	// Method names how the quantiles were fitted.
	Method   string    `json:"method"`
	WeekDays int       `json:"week_days"`
	Low      []float64 `json:"low"`
	High     []float64 `json:"high"`
}

// ForecastRequestVersion is the schema version of ForecastRequest.
const ForecastRequestVersion = 1

// KnownInputs are what a planner knows in advance about a target day.
type KnownInputs struct {
	Open          int    `json:"open"`
	Promo         int    `json:"promo"`
	StateHoliday  string `json:"state_holiday"`
	SchoolHoliday int    `json:"school_holiday"`
}

// ForecastRequest asks for one store's forecasts over consecutive days
// from Start, with the known inputs of each day (len(Days) days). It is the
// value on ForecastRequests, keyed by StoreKey(Store).
//
// A forecast job (POST /v1/forecast-jobs) is one request per store sharing
// JobID; JobRows is the job's total number of forecasts (stores × days), so
// every result can tell how many rows make the job complete. Both are empty
// outside a job.
type ForecastRequest struct {
	V         int           `json:"v"`
	RequestID string        `json:"request_id"`
	JobID     string        `json:"job_id,omitempty"`
	JobRows   int           `json:"job_rows,omitempty"`
	Store     int           `json:"store"`
	AsOf      Date          `json:"as_of"`
	Start     Date          `json:"start"`
	Days      []KnownInputs `json:"days"`
	At        time.Time     `json:"at"`
}

// ForecastResultVersion is the schema version of ForecastResult.
const ForecastResultVersion = 1

// ForecastResult is one served forecast: the value on ForecastResults,
// keyed by StoreKey(Store). ID is unique per forecast. JobID and JobRows
// are copied from the ForecastRequest of a forecast job.
type ForecastResult struct {
	V              int     `json:"v"`
	ID             string  `json:"forecast_id"`
	RequestID      string  `json:"request_id,omitempty"`
	JobID          string  `json:"job_id,omitempty"`
	JobRows        int     `json:"job_rows,omitempty"`
	Store          int     `json:"store"`
	Date           Date    `json:"date"`
	AsOf           Date    `json:"as_of"`
	Horizon        int     `json:"horizon"`
	PredictedSales float64 `json:"predicted_sales"`
	// PredictedSalesLow and PredictedSalesHigh bound the model's
	// prediction interval (nil for a model without intervals).
	PredictedSalesLow  *float64  `json:"predicted_sales_low,omitempty"`
	PredictedSalesHigh *float64  `json:"predicted_sales_high,omitempty"`
	ModelName          string    `json:"model_name"`
	ModelVersion       string    `json:"model_version"`
	Source             string    `json:"source"`
	CreatedAt          time.Time `json:"created_at"`
}

// FeatureSnapshotRequestVersion is the schema version of FeatureSnapshotRequest.
const FeatureSnapshotRequestVersion = 1

// FeatureSnapshotRequest asks the features processor for one store's
// labelled examples of the days From..To (inclusive), all with features as
// of AsOf: exactly what a forecast made on AsOf would see. The trainer uses
// it for validation windows that mimic serving. It is the value on
// FeatureSnapshotRequests, keyed by StoreKey(Store).
type FeatureSnapshotRequest struct {
	V         int    `json:"v"`
	RequestID string `json:"request_id"`
	Store     int    `json:"store"`
	AsOf      Date   `json:"as_of"`
	From      Date   `json:"from"`
	To        Date   `json:"to"`
}

// FeatureSnapshot answers a FeatureSnapshotRequest with one message per
// store, keyed by RequestID+"|"+StoreKey(Store). Error is set when the
// store's state cannot answer (for example AsOf is older than the state
// keeps); Examples then is empty.
type FeatureSnapshot struct {
	V         int               `json:"v"`
	RequestID string            `json:"request_id"`
	Store     int               `json:"store"`
	AsOf      Date              `json:"as_of"`
	Error     string            `json:"error,omitempty"`
	Examples  []TrainingExample `json:"examples"`
}
