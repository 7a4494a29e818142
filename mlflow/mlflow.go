// Package mlflow is Storecast's one reader of an MLflow tracking server's
// REST API: the registered versions of the deployment's models with their
// aliases, run metrics and training window (the dashboard's Models page,
// the promote endpoint's version check), a registered model's alias
// (serve's registry watch) and run artifacts by runs:/ URI (the model
// registry's fetcher). It only reads: the champion alias is moved by the
// trainer alone, so registry and models topic change together.
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
	"strings"
	"time"
)

// ErrNotFound means the registry has no such model, version or alias.
var ErrNotFound = errors.New("not in the MLflow registry")

// Error is an error answer of the tracking server. It matches ErrNotFound
// (errors.Is) when the server says the resource does not exist.
type Error struct {
	Path    string
	Status  int
	Code    string // MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("mlflow: %s: %d %s: %.200s", e.Path, e.Status, e.Code, e.Message)
}

// Is reports whether the answer means target (ErrNotFound).
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && (e.Status == http.StatusNotFound || e.Code == "RESOURCE_DOES_NOT_EXIST")
}

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

// Config configures a Client.
type Config struct {
	// TrackingURI is the server's base URL, e.g. http://127.0.0.1:5050.
	TrackingURI string
	// NamesSuffix is the deployment's names suffix (tests; "" in
	// production): Versions lists only the models of this deployment.
	NamesSuffix string
	// HTTP is the HTTP client (nil: one without a global timeout; every
	// call gets its own deadline).
	HTTP *http.Client
	// Timeout bounds one registry read when ctx has no deadline (0: 15 s).
	Timeout time.Duration
	// FetchTimeout bounds one artifact fetch (0: DefaultFetchTimeout).
	FetchTimeout time.Duration
}

// DefaultFetchTimeout bounds one artifact fetch when the config sets none.
const DefaultFetchTimeout = 2 * time.Minute

// Client reads one MLflow tracking server. It is safe for concurrent use.
type Client struct {
	base   string
	cfg    Config
	http   *http.Client
	suffix string
	names  *regexp.Regexp
}

// New returns a Client of the tracking server cfg names.
func New(cfg Config) (*Client, error) {
	if u, err := url.ParseRequestURI(cfg.TrackingURI); err != nil || cfg.TrackingURI == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("mlflow: tracking URI %q: %w", cfg.TrackingURI, errors.Join(err, errors.New("an http URL is required")))
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	sfx := ""
	if cfg.NamesSuffix != "" {
		sfx = "-" + regexp.QuoteMeta(cfg.NamesSuffix)
	}
	return &Client{base: strings.TrimRight(cfg.TrackingURI, "/"), cfg: cfg, http: cfg.HTTP, suffix: cfg.NamesSuffix,
		names: regexp.MustCompile(`^storecast-sales(-store-[0-9]+)?` + sfx + `$`)}, nil
}

// Ours reports whether a registered model name belongs to this deployment:
// storecast-sales or storecast-sales-store-{id}, with the names suffix.
func (c *Client) Ours(name string) bool { return c.names.MatchString(name) }

// modelVersion is MLflow's ModelVersion message.
type modelVersion struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	RunID     string   `json:"run_id"`
	Status    string   `json:"status"`
	Aliases   []string `json:"aliases"`
	CreatedMS int64    `json:"creation_timestamp"`
}

func (v modelVersion) version() Version {
	return Version{Name: v.Name, Version: v.Version, RunID: v.RunID, Status: v.Status,
		Aliases: append([]string{}, v.Aliases...), CreatedAt: time.UnixMilli(v.CreatedMS).UTC(), Metrics: map[string]float64{}}
}

// Versions returns the newest limit versions of the deployment's models,
// newest first, with their runs' metrics.
func (c *Client) Versions(ctx context.Context, limit int) ([]Version, error) {
	q := url.Values{"filter": {"name LIKE 'storecast-sales%'"}, "max_results": {"1000"}, "order_by": {"creation_timestamp DESC"}}
	var res struct {
		ModelVersions []modelVersion `json:"model_versions"`
	}
	if err := c.get(ctx, "/api/2.0/mlflow/model-versions/search", q, &res); err != nil {
		return nil, err
	}
	out := []Version{}
	for _, v := range res.ModelVersions {
		if c.Ours(v.Name) {
			out = append(out, v.version())
		}
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
	if err := c.fill(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Version returns one version of one of the deployment's models; the
// error wraps ErrNotFound when the registry has no such model or version.
func (c *Client) Version(ctx context.Context, name, version string) (Version, error) {
	if !c.Ours(name) {
		return Version{}, fmt.Errorf("mlflow: model %q is not one of this deployment's: %w", name, ErrNotFound)
	}
	var res struct {
		ModelVersion modelVersion `json:"model_version"`
	}
	if err := c.get(ctx, "/api/2.0/mlflow/model-versions/get", url.Values{"name": {name}, "version": {version}}, &res); err != nil {
		return Version{}, err
	}
	out := []Version{res.ModelVersion.version()}
	if err := c.fill(ctx, out); err != nil {
		return Version{}, err
	}
	return out[0], nil
}

// AliasVersion returns the version alias points at for the registered
// model name, and "" when the alias (or the model) does not exist.
func (c *Client) AliasVersion(ctx context.Context, name, alias string) (string, error) {
	var res struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
	}
	err := c.get(ctx, "/api/2.0/mlflow/registered-models/alias", url.Values{"name": {name}, "alias": {alias}}, &res)
	// MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE.
	var ae *Error
	if errors.Is(err, ErrNotFound) || (errors.As(err, &ae) && ae.Code == "INVALID_PARAMETER_VALUE") {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return res.ModelVersion.Version, nil
}

// fill adds the aliases (older servers return them only with registered
// models) and the runs' metrics, training end and promotion decision.
func (c *Client) fill(ctx context.Context, vs []Version) error {
	if err := c.fillAliases(ctx, vs); err != nil {
		return err
	}
	for i := range vs {
		if vs[i].RunID == "" {
			continue
		}
		if err := c.fillRun(ctx, &vs[i]); err != nil {
			return err
		}
	}
	return nil
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
// An answer saying the resource does not exist wraps ErrNotFound.
func (c *Client) get(ctx context.Context, path string, q url.Values, into any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("mlflow: %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mlflow: %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("mlflow: %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Path: path, Status: resp.StatusCode}
		var m struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m)
		e.Code, e.Message = m.Code, strings.TrimSpace(m.Message)
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
		return e
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("mlflow: %s: decode: %w", path, err)
	}
	return nil
}

// ParseRunsURI splits runs:/RUN_ID/PATH into the run id and the artifact
// path.
func ParseRunsURI(uri string) (runID, path string, err error) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return "", "", fmt.Errorf("uri %q is not runs:/RUN_ID/PATH", uri)
	}
	runID, path, ok = strings.Cut(strings.TrimLeft(rest, "/"), "/")
	if !ok || runID == "" || path == "" || strings.Contains(path, "..") {
		return "", "", fmt.Errorf("uri %q is not runs:/RUN_ID/PATH", uri)
	}
	return runID, path, nil
}

// Fetch returns the artifact a runs:/RUN_ID/PATH URI names, over the
// tracking server's GET /get-artifact (mlflow server --serve-artifacts):
// at most limit bytes, within the config's FetchTimeout. It implements
// model.Fetcher; the caller verifies the bytes.
func (c *Client) Fetch(ctx context.Context, uri string, limit int64) ([]byte, error) {
	runID, path, err := ParseRunsURI(uri)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	u := c.base + "/get-artifact?" + url.Values{"run_uuid": {runID}, "path": {path}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", uri, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", uri, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("fetch %s: %s from %s: %s", uri, resp.Status, c.base, strings.TrimSpace(string(msg)))
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("fetch %s: %d bytes exceeds the limit of %d", uri, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: after %d bytes: %w", uri, len(b), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("fetch %s: more than the limit of %d bytes", uri, limit)
	}
	return b, nil
}
