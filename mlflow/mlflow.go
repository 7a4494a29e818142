// Package mlflow reads MLflow's model registry over its REST API for the
// dashboard: the registered versions of the deployment's models with their
// aliases, the metrics of the runs that trained them and the last day they
// were trained on. It only reads.
package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Version is one registered model version.
type Version struct {
	Name           string             `json:"name"`
	Version        string             `json:"version"`
	RunID          string             `json:"run_id"`
	Status         string             `json:"status"`
	Aliases        []string           `json:"aliases"`
	CreatedAt      time.Time          `json:"created_at"`
	TrainedThrough string             `json:"trained_through,omitempty"`
	Promotion      string             `json:"promotion,omitempty"`
	Metrics        map[string]float64 `json:"metrics"`
}

// Client reads one MLflow tracking server.
type Client struct {
	base   string
	http   *http.Client
	suffix string
	names  *regexp.Regexp
}

// New returns a Client of the tracking server at baseURL, for the model
// names of a deployment with names suffix (tests; "" in production).
func New(baseURL, suffix string, hc *http.Client) (*Client, error) {
	if _, err := url.ParseRequestURI(baseURL); err != nil || baseURL == "" {
		return nil, fmt.Errorf("mlflow: tracking URI %q: %w", baseURL, errors.Join(err, errors.New("an http URL is required")))
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	sfx := ""
	if suffix != "" {
		sfx = "-" + regexp.QuoteMeta(suffix)
	}
	return &Client{base: baseURL, http: hc, suffix: suffix, names: regexp.MustCompile(`^storecast-sales(-store-[0-9]+)?` + sfx + `$`)}, nil
}

// Ours reports whether a registered model name belongs to this deployment:
// storecast-sales or storecast-sales-store-{id}, with the names suffix.
func (c *Client) Ours(name string) bool { return c.names.MatchString(name) }

// Versions returns the newest limit versions of the deployment's models,
// newest first, with their runs' metrics.
func (c *Client) Versions(ctx context.Context, limit int) ([]Version, error) {
	q := url.Values{"filter": {"name LIKE 'storecast-sales%'"}, "max_results": {"1000"}, "order_by": {"creation_timestamp DESC"}}
	var res struct {
		ModelVersions []struct {
			Name      string   `json:"name"`
			Version   string   `json:"version"`
			RunID     string   `json:"run_id"`
			Status    string   `json:"status"`
			Aliases   []string `json:"aliases"`
			CreatedMS int64    `json:"creation_timestamp"`
		} `json:"model_versions"`
	}
	if err := c.get(ctx, "/api/2.0/mlflow/model-versions/search", q, &res); err != nil {
		return nil, err
	}
	out := []Version{}
	for _, v := range res.ModelVersions {
		if !c.Ours(v.Name) {
			continue
		}
		out = append(out, Version{Name: v.Name, Version: v.Version, RunID: v.RunID, Status: v.Status,
			Aliases: append([]string{}, v.Aliases...), CreatedAt: time.UnixMilli(v.CreatedMS).UTC(), Metrics: map[string]float64{}})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		a, _ := strconv.Atoi(out[i].Version)
		b, _ := strconv.Atoi(out[j].Version)
		return a > b
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	// Aliases come with registered models on older servers.
	if err := c.fillAliases(ctx, out); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].RunID == "" {
			continue
		}
		if err := c.fillRun(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Client) fillAliases(ctx context.Context, vs []Version) error {
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		var res struct {
			RegisteredModel struct {
				Aliases []struct {
					Alias   string `json:"alias"`
					Version string `json:"version"`
				} `json:"aliases"`
			} `json:"registered_model"`
		}
		if err := c.get(ctx, "/api/2.0/mlflow/registered-models/get", url.Values{"name": {v.Name}}, &res); err != nil {
			return err
		}
		for _, a := range res.RegisteredModel.Aliases {
			for i := range vs {
				if vs[i].Name == v.Name && vs[i].Version == a.Version && !slices.Contains(vs[i].Aliases, a.Alias) {
					vs[i].Aliases = append(vs[i].Aliases, a.Alias)
				}
			}
		}
	}
	return nil
}

func (c *Client) fillRun(ctx context.Context, v *Version) error {
	var res struct {
		Run struct {
			Data struct {
				Metrics []struct {
					Key   string  `json:"key"`
					Value float64 `json:"value"`
				} `json:"metrics"`
				Params []struct{ Key, Value string } `json:"params"`
				Tags   []struct{ Key, Value string } `json:"tags"`
			} `json:"data"`
		} `json:"run"`
	}
	if err := c.get(ctx, "/api/2.0/mlflow/runs/get", url.Values{"run_id": {v.RunID}}, &res); err != nil {
		return err
	}
	for _, m := range res.Run.Data.Metrics {
		v.Metrics[m.Key] = m.Value
	}
	for _, p := range res.Run.Data.Params {
		if p.Key == "end_date" {
			v.TrainedThrough = p.Value
		}
	}
	for _, t := range res.Run.Data.Tags {
		if t.Key == "promotion" {
			v.Promotion = t.Value
		}
	}
	return nil
}

// get GETs path?q from the tracking server and decodes the JSON answer.
func (c *Client) get(ctx context.Context, path string, q url.Values, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("mlflow: %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mlflow: %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("mlflow: %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mlflow: %s: %s: %.200s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("mlflow: %s: decode: %w", path, err)
	}
	return nil
}
