package systemtest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
)

// TestMLflowExposesMetrics: the stack's MLflow server (deploy/local/mlflow.sh,
// --expose-prometheus; Prometheus job mlflow) answers /metrics with its
// request counts, and its names pass the naming lint.
func TestMLflowExposesMetrics(t *testing.T) {
	t.Parallel()
	m := testkit.NewMLflow(t)
	if code, b, err := call("GET", m.URL+"/api/2.0/mlflow/experiments/search?max_results=1", "", ""); err != nil || code != 200 {
		t.Fatalf("search experiments: %d %.200s %v", code, b, err)
	}
	var body []byte
	poll(t, "mlflow_http_request_total on MLflow's /metrics", 30*time.Second, func() (bool, string) {
		code, b, err := call("GET", m.URL+"/metrics", "", "")
		if err != nil || code != 200 {
			return false, fmt.Sprintf("%d %.200s %v (started without --expose-prometheus? restart it with deploy/local/mlflow.sh down; up)", code, b, err)
		}
		body = b
		return strings.Contains(string(b), "\nmlflow_http_request_total{"), "no mlflow_http_request_total series"
	})
	testkit.LintExposition(t, "mlflow", bytes.NewReader(body), "mlflow_")
}
