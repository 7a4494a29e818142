package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Registry aliases the trainer moves (MLflow model registry).
const (
	AliasChampion   = "champion"
	AliasChallenger = "challenger"
)

// MLflowRegistry reads a registered model's aliases from an MLflow
// tracking server (GET /api/2.0/mlflow/registered-models/alias).
type MLflowRegistry struct {
	// TrackingURI is the server's base URL, e.g. http://127.0.0.1:5050.
	TrackingURI string
	// Client is the HTTP client (nil: http.DefaultClient; every call gets
	// a 10 s deadline when ctx has none).
	Client *http.Client
}

// AliasVersion returns the version alias points at for the registered
// model name, and "" when the alias (or the model) does not exist.
func (m *MLflowRegistry) AliasVersion(ctx context.Context, name, alias string) (string, error) {
	if m.TrackingURI == "" {
		return "", errors.New("mlflow registry: no tracking URI configured")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	u := strings.TrimRight(m.TrackingURI, "/") + "/api/2.0/mlflow/registered-models/alias?" + url.Values{"name": {name}, "alias": {alias}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("mlflow registry: %w", err)
	}
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("mlflow registry: alias %s of %s: %w", alias, name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("mlflow registry: alias %s of %s: %w", alias, name, err)
	}
	var out struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	_ = json.Unmarshal(body, &out)
	switch {
	case resp.StatusCode == http.StatusOK:
		return out.ModelVersion.Version, nil
	case resp.StatusCode == http.StatusNotFound || out.ErrorCode == "RESOURCE_DOES_NOT_EXIST" || out.ErrorCode == "INVALID_PARAMETER_VALUE":
		return "", nil
	}
	return "", fmt.Errorf("mlflow registry: alias %s of %s: %s: %s", alias, name, resp.Status, strings.TrimSpace(out.Message))
}
