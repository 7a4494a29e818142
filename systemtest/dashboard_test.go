package systemtest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
)

// badSalesCSV is a Kaggle train.csv with one invalid row (negative sales):
// `storecast produce` sends it to the sales DLQ with its reason, which the
// dashboard's Topics page must show.
const badSalesCSV = "Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday\n" +
	"1,5,2015-06-19,-5,0,1,0,0,0\n"

// produceDeadLetter runs `storecast produce` over badSalesCSV.
func produceDeadLetter(t *testing.T, env []string, bin, storeCSV string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "bad-train.csv")
	if err := os.WriteFile(f, []byte(badSalesCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, env, bin, "produce", "--train", f, "--store", storeCSV, "--metrics-addr", "")
}

// runDashboardE2E runs the Playwright suite of web/e2e in Debian's
// chromium against a running dashboard (every page, the forms, the
// what-if planner, a wrong token, axe) and logs its measurements (the store
// page's render time, the sales topic's records, a dead letter's reason).
// env adds to the suite's environment (STORECAST_E2E_PROMOTE=1 and
// STORECAST_E2E_TOKEN: promote a version and roll back on the Models page).
func runDashboardE2E(t *testing.T, dashboardURL, forecastURL string, env ...string) {
	t.Helper()
	web := filepath.Join(repoRoot(t), "web")
	playwright := filepath.Join(web, "node_modules", ".bin", "playwright")
	for what, path := range map[string]string{"web/node_modules (make web)": playwright, "chromium (apt-get install chromium)": "/usr/bin/chromium"} {
		if _, err := os.Stat(path); err != nil {
			if testkit.Integration() {
				t.Fatalf("the dashboard's end-to-end tests need %s: %v", what, err)
			}
			t.Skipf("%s is missing", what)
		}
	}
	if _, err := os.Stat(filepath.Join(web, "dist", "app", "index.html")); err != nil {
		t.Fatalf("the dashboard bundle is not built (make web): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, playwright, "test")
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"STORECAST_WEB_URL="+dashboardURL, "STORECAST_FORECAST_URL="+forecastURL,
		"STORECAST_E2E_EXPECT_DLQ=1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "CI=1",
		// The budget of issue 13 (1 s) is measured on the Rossmann data
		// (README); under make test the machine runs everything at once.
		"STORECAST_STORE_PAGE_BUDGET_MS=5000")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "store page (") || strings.Contains(l, "topics page:") || strings.Contains(l, "promotion:") || strings.Contains(l, " passed") {
			t.Log(strings.TrimSpace(l))
		}
	}
	if err != nil {
		t.Fatalf("playwright test: %v\n%s", err, out.String())
	}
	t.Logf("dashboard end-to-end tests took %s", time.Since(start).Round(time.Second))
}
