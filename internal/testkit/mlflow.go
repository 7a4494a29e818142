package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// MLflow is the test's MLflow tracking server (STORECAST_MLFLOW_TRACKING_URI,
// default http://127.0.0.1:5050), serving artifacts as the stack runs it.
type MLflow struct {
	URL string
	t   testing.TB
}

// NewMLflow returns the tracking server, skipping (or, with
// STORECAST_INTEGRATION=1, failing) when it does not answer.
func NewMLflow(t testing.TB) *MLflow {
	t.Helper()
	skipShort(t, "MLflow")
	u := strings.TrimRight(env("STORECAST_MLFLOW_TRACKING_URI", "http://127.0.0.1:5050"), "/")
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u + "/health")
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /health: %s", resp.Status)
		}
	}
	if err != nil {
		need(t, "MLflow", err)
	}
	return &MLflow{URL: u, t: t}
}

// call sends a JSON request and decodes the JSON answer into out.
func (m *MLflow) call(method, path string, body io.Reader, out any) {
	m.t.Helper()
	req, err := http.NewRequest(method, m.URL+path, body)
	if err != nil {
		m.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	c := http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		m.t.Fatalf("mlflow %s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("mlflow %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			m.t.Fatalf("mlflow %s %s: %v", method, path, err)
		}
	}
}

func (m *MLflow) post(path string, in, out any) {
	m.t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		m.t.Fatal(err)
	}
	m.call(http.MethodPost, path, bytes.NewReader(b), out)
}

// Run creates a run in the experiment "storecast-tests" and returns its id
// and its artifact root's path on the server (EXPERIMENT/RUN/artifacts).
func (m *MLflow) Run() (runID, artifacts string) {
	m.t.Helper()
	const exp = "storecast-tests"
	var got struct {
		Experiment struct {
			ID string `json:"experiment_id"`
		} `json:"experiment"`
	}
	req, _ := http.NewRequest(http.MethodGet, m.URL+"/api/2.0/mlflow/experiments/get-by-name?"+url.Values{"experiment_name": {exp}}.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	expID := ""
	if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &got) == nil {
		expID = got.Experiment.ID
	} else {
		var created struct {
			ID string `json:"experiment_id"`
		}
		m.post("/api/2.0/mlflow/experiments/create", map[string]string{"name": exp}, &created)
		expID = created.ID
	}
	var run struct {
		Run struct {
			Info struct {
				RunID       string `json:"run_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	m.post("/api/2.0/mlflow/runs/create", map[string]any{"experiment_id": expID, "start_time": time.Now().UnixMilli()}, &run)
	root, ok := strings.CutPrefix(run.Run.Info.ArtifactURI, "mlflow-artifacts:/")
	if !ok {
		m.t.Fatalf("run artifact uri %q is not served by the tracking server (mlflow-artifacts:/)", run.Run.Info.ArtifactURI)
	}
	return run.Run.Info.RunID, strings.TrimLeft(root, "/")
}

// Upload stores body as the artifact path under the artifact root
// artifacts (from Run).
func (m *MLflow) Upload(artifacts, path string, body []byte) {
	m.t.Helper()
	m.call(http.MethodPut, "/api/2.0/mlflow-artifacts/artifacts/"+artifacts+"/"+path, bytes.NewReader(body), nil)
}

// Register creates the registered model name if needed and a version of
// it from the run, and returns the version.
func (m *MLflow) Register(name, runID string) string {
	m.t.Helper()
	var existing struct{}
	req, _ := http.NewRequest(http.MethodGet, m.URL+"/api/2.0/mlflow/registered-models/get?"+url.Values{"name": {name}}.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		m.post("/api/2.0/mlflow/registered-models/create", map[string]string{"name": name}, &existing)
	}
	var v struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
	}
	m.post("/api/2.0/mlflow/model-versions/create", map[string]string{"name": name, "source": "runs:/" + runID + "/export", "run_id": runID}, &v)
	return v.ModelVersion.Version
}

// SetAlias points alias of the registered model name at version.
func (m *MLflow) SetAlias(name, alias, version string) {
	m.t.Helper()
	m.post("/api/2.0/mlflow/registered-models/alias", map[string]string{"name": name, "alias": alias, "version": version}, nil)
}

// CopyVersion registers the run of version of name once more, with the
// same version tags (the sha256 the trainer recorded), and returns the new
// version: a second promotable version without a second training.
func (m *MLflow) CopyVersion(name, version string) string {
	m.t.Helper()
	var got struct {
		ModelVersion struct {
			RunID string `json:"run_id"`
			Tags  []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"tags"`
		} `json:"model_version"`
	}
	m.call(http.MethodGet, "/api/2.0/mlflow/model-versions/get?"+url.Values{"name": {name}, "version": {version}}.Encode(), nil, &got)
	v := m.Register(name, got.ModelVersion.RunID)
	for _, tag := range got.ModelVersion.Tags {
		m.post("/api/2.0/mlflow/model-versions/set-tag", map[string]string{"name": name, "version": v, "key": tag.Key, "value": tag.Value}, nil)
	}
	return v
}
