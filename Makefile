# Storecast. `make help` lists the targets; README.md explains them.
#
#   make up               local stack (Kafka, PostgreSQL, ...) + topics + Go services + synthetic
#                         demo data + a trained champion served on 127.0.0.1:4242
#   make up DATA=dir      ... with dir/train.csv and dir/store.csv (a Kaggle download) instead
#   make test             every test tier against the real stack (starts it when needed)
#   make down             stop what `make up` started

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# ==============================================================================
# Configuration (override on the command line or in the environment)

GO      ?= go
BIN     := bin/storecast
# DATA is a folder with Kaggle's train.csv and store.csv; empty: synthetic data.
DATA    ?=
# Extra flags for `storecast produce` when `make up` loads demo data.
PRODUCE_FLAGS ?=
# Extra flags for `go test` (e.g. GOTEST_FLAGS='-run TestX -v').
GOTEST_FLAGS ?=
# Per test binary. Integration suites under -race share 2 cores with the
# stack; go test's default of 10m is too tight for the replay tests there.
GOTEST_TIMEOUT ?= 30m
# make lab's reported window: the days after LAB_AS_OF up to LAB_END (the benchmark's by default).
LAB_AS_OF ?= 2015-05-07
LAB_END ?= 2015-06-19

STORECAST_STATE_DIR ?= $(CURDIR)/.state
export STORECAST_STATE_DIR
STACK   := deploy/local/stack.sh
# Runs a command with .state/env loaded (for recipes that run right after
# `stack.sh up` wrote it).
WITH_ENV := deploy/local/with-env.sh

TOOLS   := $(STORECAST_STATE_DIR)/tools
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
GOVULNCHECK_VERSION := v1.9.0
GITLEAKS_VERSION := v8.30.1
GITLEAKS := $(TOOLS)/gitleaks-$(GITLEAKS_VERSION)/gitleaks

# The stack's environment (STORECAST_BROKERS, STORECAST_PG_DSN, ...), written
# by `make up` to .state/env. A variable already set in the environment or on
# the command line wins over the file.
STACK_ENV := $(STORECAST_STATE_DIR)/env
ifneq ($(wildcard $(STACK_ENV)),)
$(foreach kv,$(shell sed -n "s/^export \([A-Za-z_][A-Za-z0-9_]*\)='\([^' ]*\)'$$/\1=\2/p" $(STACK_ENV)),\
  $(if $(filter undefined,$(origin $(firstword $(subst =, ,$(kv))))),$(eval export $(kv))))
endif

# ==============================================================================
##@ Help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m [DATA=dir]\n"} \
		/^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

# ==============================================================================
##@ Local stack

.PHONY: up
up: build ## Start everything (stack, topics, Go services), load demo data (DATA=dir for a Kaggle download), serve a trained champion.
	$(STACK) up --all
	$(WITH_ENV) deploy/local/demo-data.sh $(BIN) $(DATA) -- $(PRODUCE_FLAGS)
	$(WITH_ENV) deploy/local/champion.sh
	@# Every long-running component is a Prometheus target and up (lists the ones that are not; fails then).
	$(WITH_ENV) deploy/local/prometheus.sh targets --wait 60
	@deploy/local/airflow.sh login
	@echo "up: done; 'source $(STACK_ENV)' for the environment (and STORECAST_API_TOKEN), 'make down' stops the stack"

.PHONY: airflow
airflow: airflow-venv ## Start Airflow alone (API server and UI on 127.0.0.1:8080, scheduler, DAG processor, its statsd exporter) against the running stack.
	$(WITH_ENV) deploy/local/statsd-exporter.sh up
	$(WITH_ENV) deploy/local/airflow.sh up

.PHONY: down
down: ## Stop what `make up` started.
	$(STACK) down

.PHONY: status
status: ## Show which services run and answer.
	$(STACK) status

.PHONY: services
services: ## Start Kafka, PostgreSQL, MLflow and the trainer only (no topics, Go services or data); what `make test` needs.
	$(STACK) up

.PHONY: topics
topics: build ## Create missing topics and report drift (storecast topics init).
	$(WITH_ENV) $(BIN) topics init

.PHONY: load-record
load-record: build ## Print the training_examples checksum and the DLQ count of the stack and append them (date, commit, data) to bench/results/load_checksum.json, compared with earlier loads of the same data and feature schema.
	$(WITH_ENV) deploy/local/load-record.sh

.PHONY: reset
reset: down ## Stop the stack and DELETE its data (Kafka log, processor tables, PostgreSQL cluster, MLflow runs and registry, env); keeps jars, tools and the API token.
	rm -rf "$(STORECAST_STATE_DIR)/kafka/data" "$(STORECAST_STATE_DIR)/kafka/cluster.id" \
		"$(STORECAST_STATE_DIR)/kafka/demo-data.loaded" "$(STORECAST_STATE_DIR)/goka" "$(STORECAST_STATE_DIR)/postgres" \
		"$(STORECAST_STATE_DIR)/mlflow" "$(STORECAST_STATE_DIR)/airflow" "$(STORECAST_STATE_DIR)/env"

# ==============================================================================
##@ Build

.PHONY: build
build: web ## Build bin/storecast (with the dashboard bundle embedded: see web).
	$(GO) build -o $(BIN) ./cmd/storecast

# The dashboard (web/): npm ci from the lockfile, then vite build into
# web/dist/app, which the Go package web embeds. Rebuilt only when its
# sources or api/openapi.yaml change. `go build` without it serves a
# placeholder page instead of the dashboard.
WEB_SRC := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json web/package.json web/scripts \
	-type f -not -name schema.d.ts 2>/dev/null) api/openapi.yaml
# Playwright must never download a browser: the e2e tier drives Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

web/node_modules/.ci-stamp: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/app/index.html: web/node_modules/.ci-stamp $(WEB_SRC)
	cd web && npm run build

.PHONY: web
web: web/dist/app/index.html ## Build the dashboard bundle (npm ci, vite build) into web/dist/app; prints the first page's JavaScript size.

.PHONY: fmt
fmt: ## Format Go code (go fmt).
	$(GO) fmt ./...

.PHONY: clean
clean: ## Remove build output (not the stack's state: see reset).
	rm -rf bin

# ==============================================================================
##@ Test

# More tiers join `test` as prerequisites or recipe lines that fail the target
# when they fail, e.g. `$(MAKE) test-trainer` (pytest) or `$(MAKE) test-web`.
.PHONY: test
test: services vet airflow-venv checks-venv web ## Every test tier against the real stack: go vet, go test -race (integration on), trainer, Airflow, Prometheus, dashboard.
	$(WITH_ENV) env STORECAST_INTEGRATION=1 $(GO) test -race -count=1 -timeout $(GOTEST_TIMEOUT) $(GOTEST_FLAGS) ./...
	$(MAKE) test-trainer
	$(MAKE) test-airflow
	$(MAKE) test-compose
	$(MAKE) test-security
	$(MAKE) test-load
	$(MAKE) fuzz FUZZTIME=$(TEST_FUZZTIME)
	$(MAKE) test-prometheus
	$(MAKE) test-web

.PHONY: test-prometheus
test-prometheus: ## Prometheus: promtool check config and rules, the rules' unit tests, a runbook and a test per alert.
	promtool check config deploy/prometheus/prometheus.yml
	promtool check config deploy/prometheus/prometheus-compose.yml
	promtool check rules deploy/prometheus/rules/*.yml
	promtool test rules deploy/prometheus/tests/*.yml
	deploy/prometheus/check-runbooks.sh

.PHONY: trainer-venv
trainer-venv: ## Create or refresh trainer/.venv from trainer/uv.lock (uv comes from pip when missing).
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	cd trainer && UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --python "$$(python3 -c 'import sys; print(sys.executable)')"

.PHONY: test-trainer
test-trainer: trainer-venv ## Trainer (Python): ruff lint and format check, pytest (integration tests with the stack's env).
	cd trainer && .venv/bin/ruff check src tests && .venv/bin/ruff format --check src tests
	$(WITH_ENV) env STORECAST_INTEGRATION=1 bash -c 'cd trainer && .venv/bin/pytest'

.PHONY: airflow-venv
airflow-venv: ## Create or refresh airflow/.venv from airflow/uv.lock (Airflow 3 and its constraints; the DAG's end-to-end test in systemtest needs it).
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	cd airflow && UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --python "$$(python3 -c 'import sys; print(sys.executable)')"

.PHONY: test-airflow
test-airflow: airflow-venv ## Airflow (Python): ruff lint and format check, the DAG import test and its callables against fakes (pytest).
	cd airflow && .venv/bin/ruff check src tests dags && .venv/bin/ruff format --check src tests dags
	cd airflow && .venv/bin/pytest
.PHONY: checks-venv
checks-venv: ## Create or refresh deploy/checks/.venv (hadolint, schemathesis) from its uv.lock.
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	cd deploy/checks && UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --python "$$(python3 -c 'import sys; print(sys.executable)')"

.PHONY: test-compose
test-compose: checks-venv ## Compose without Docker: hadolint on the Dockerfiles, nginx -t on nginx's config (the compose-spec loader test runs in go test: systemtest/compose_test.go).
	deploy/checks/.venv/bin/hadolint deploy/docker/Dockerfile deploy/docker/trainer.Dockerfile
	@command -v nginx >/dev/null || { echo "error: nginx is missing (apt-get install nginx-light; .ci/run installs it)" >&2; exit 1; }
	tmp="$$(mktemp -d)" && trap 'rm -rf "$$tmp"' EXIT && nginx -t -q -p "$$tmp" -c "$(CURDIR)/deploy/docker/nginx/nginx.conf" -g "error_log $$tmp/error.log;"

.PHONY: test-web
test-web: web ## Dashboard: Vitest (the build already type-checked it; Playwright runs in systemtest against the real stack).
	cd web && npx vitest run

# make load: the locust scenario of bench/load (headless, bounded). Empty LOAD_HOST: against a
# storecast serve of its own on the stack, logging forecasts to a sandbox topic; set it to load
# another server as it is.
LOAD_HOST ?=
LOAD_USERS ?= 200
LOAD_SPAWN_RATE ?= 50
LOAD_TIME ?= 60s
# Extra GET paths (the dashboard's read endpoints), comma-separated; {id} is a random store id, {date} a day the API forecasts.
LOAD_EXTRA_GETS ?= /v1/stores,/v1/stores/{id}/features?date={date},/v1/models

.PHONY: load-venv
load-venv: ## Create or refresh bench/load/.venv (locust) from its uv.lock.
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	cd bench/load && UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --python "$$(python3 -c 'import sys; print(sys.executable)')"

.PHONY: load
load: load-venv build ## Load test: locust, LOAD_USERS users for LOAD_TIME on a sandboxed storecast serve (or LOAD_HOST as it is); writes bench/results/load.json.
	$(WITH_ENV) $(GO) run ./bench/load -serve $(BIN) -url '$(LOAD_HOST)' -users $(LOAD_USERS) -spawn-rate $(LOAD_SPAWN_RATE) \
		-time $(LOAD_TIME) -extra-gets '$(LOAD_EXTRA_GETS)' -out bench/results/load.json

.PHONY: test-load
test-load: load-venv ## The load scenario's code: ruff, and pytest on its report (the load itself is make load).
	cd bench/load && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/pytest -q

# make fuzz: every native Go fuzz target (func FuzzX in a _test.go file) for FUZZTIME each; make
# test runs them for TEST_FUZZTIME. A crasher lands in the package's testdata/fuzz/FuzzX/ and from
# then on runs as a regression test in go test: commit it with the fix. A failure that leaves no
# crasher (the fuzzing engine's own, e.g. a worker that did not answer on a loaded machine) is
# shown and run once more.
FUZZTIME ?= 30s
TEST_FUZZTIME ?= 3s

.PHONY: fuzz
fuzz: ## Run every Go fuzz target for FUZZTIME (default 30s) each; a crasher fails and is kept in testdata/fuzz.
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir="./$$(dirname "$${file#./}")"; \
		for target in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]+)\(.*/\1/p' "$$file"); do \
			echo "fuzz: $$dir $$target ($(FUZZTIME))"; \
			log="$${TMPDIR:-/tmp}/fuzz-$$target.log"; stamp="$$log.start"; : >"$$stamp"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$dir" >"$$log" 2>&1 && continue; \
			if [ -z "$$(find "$$dir/testdata/fuzz/$$target" -type f -newer "$$stamp" 2>/dev/null)" ]; then \
				cat "$$log" >&2; echo "fuzz: $$target failed without a crasher (the fuzzing engine itself; output above): once more" >&2; \
				$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$dir" >"$$log" 2>&1 && continue; \
			fi; \
			cat "$$log" >&2; echo "fuzz: $$target failed; a crasher is kept in $$dir/testdata/fuzz/$$target/ when the output above names one" >&2; exit 1; \
		done; \
	done

.PHONY: test-security
test-security: $(GITLEAKS) ## Secret scan of the repository and its whole git history (gitleaks, pinned; 0 findings). gosec runs in lint.
	$(GITLEAKS) git --no-banner --redact --exit-code 1 .

$(GITLEAKS):
	mkdir -p $(@D)
	GOBIN=$(abspath $(@D)) $(GO) install github.com/zricethezav/gitleaks/v8@$(GITLEAKS_VERSION)

.PHONY: test-short
test-short: ## Unit tests only, no services needed (go test -short).
	$(GO) test -short -count=1 $(GOTEST_FLAGS) ./...

.PHONY: vet
vet: ## go vet.
	$(GO) vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint (pinned, installed into .state/tools).
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	mkdir -p $(@D)
	GOBIN=$(abspath $(@D)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: vuln
vuln: ## govulncheck (pinned; needs the vulnerability database at vuln.go.dev or GOVULNDB).
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) $(if $(GOVULNDB),-db $(GOVULNDB)) ./...

# ==============================================================================
##@ Benchmarks (measurements, not tests: each writes bench/results/<part>.json)

# `make bench` runs every bench-* target defined in this file (or those named
# in BENCH_TARGETS), each even when an earlier one failed, between two reads
# of the user's world (bench/isolation): the high watermarks of the user's
# topics, the offsets of the user's consumer groups, rows and largest keys of
# rossman_sales and forecast_results. It writes bench/results/isolation.json
# and fails when a benchmark changed any of them or left a sandbox topic,
# group or database behind.
BENCH_TARGETS = $(sort $(shell sed -n 's/^\(bench-[a-z0-9-]*\):.*/\1/p' $(MAKEFILE_LIST)))
BENCH_ISOLATION_BEFORE = $(STORECAST_STATE_DIR)/bench/isolation-before.json

.PHONY: bench
bench: services ## Run every bench-* target; bench/results/isolation.json proves the user's topics, groups and tables unchanged.
	$(WITH_ENV) $(GO) run ./bench/isolation snapshot -out $(BENCH_ISOLATION_BEFORE)
	@failed=""; for t in $(BENCH_TARGETS); do echo "== $$t"; $(MAKE) $$t || failed="$$failed $$t"; done; \
	$(WITH_ENV) $(GO) run ./bench/isolation compare -before $(BENCH_ISOLATION_BEFORE) -out bench/results/isolation.json \
		-benches '$(BENCH_TARGETS)' -failed "$$failed"; \
	if [ -n "$$failed" ]; then echo "bench: failed:$$failed"; exit 1; fi

# ---- Add benchmark targets below, one per part, in this shape:
#
# .PHONY: bench-produce
# bench-produce: services build ## Replay train.csv into a fresh topic; writes bench/results/produce.json.
# 	$(WITH_ENV) <command that writes bench/results/produce.json and prints a summary>
#
# Expected: bench-produce, bench-process, bench-sink, bench-train, bench-predict.
.PHONY: bench-produce
bench-produce: services ## Replay train.csv (970,379 events) into fresh topics; writes bench/results/produce.json.
	$(WITH_ENV) $(GO) run ./bench/produce -out bench/results/produce.json

.PHONY: bench-process
bench-process: services ## Replay train.csv (970,379 events) through the features processor; writes bench/results/process.json.
	$(WITH_ENV) $(GO) run ./bench/process -out bench/results/process.json $(BENCH_PROCESS_FLAGS)

.PHONY: bench-train
bench-train: services build trainer-venv ## Train on the examples of the full shared data (prepares them once); writes bench/results/train.json.
	$(WITH_ENV) $(GO) run ./bench/train -out bench/results/train.json $(BENCH_TRAIN_FLAGS)

.PHONY: lab
lab: trainer-venv ## Feature/parameter experiment without Kafka: featurelab computes the examples of the shared data, the trainer runs the honest protocol on them (LAB_FLAGS: --param K=V, --drop F, --tracking-uri URI; the reported window is LAB_AS_OF+1..LAB_END, e.g. LAB_AS_OF=2014-07-31 LAB_END=2014-09-17 for the weeks like those the champion is scored on).
	$(WITH_ENV) $(GO) run ./bench/featurelab -data $${STORECAST_DATA_DIR:-../shared/data/rossmann} -out $(STORECAST_STATE_DIR)/lab -end $(LAB_END) -snapshot val=$(LAB_AS_OF)..$(LAB_END)
	$(WITH_ENV) trainer/.venv/bin/storecast-trainer lab $(STORECAST_STATE_DIR)/lab $(LAB_FLAGS)

.PHONY: bench-predict
bench-predict: services build ## Load the forecast API from a second process (64 connections on /predict, whole-chain /v1/forecasts); writes bench/results/predict.json. Needs data and a model (make up).
	$(WITH_ENV) $(GO) run ./bench/predict -serve $(BIN) -models-topic models -out bench/results/predict.json

.PHONY: bench-predict-live
bench-predict-live: services build trainer-venv ## /predict under live load in a sandbox (own topics and database): replay, process, sink, streaming sales, a 500-tree depth-10 model and the champion, cache on/off; writes bench/results/predict_live.json.
	$(WITH_ENV) $(GO) run ./bench/predictlive -bin $(BIN) -champion-models-topic models -out bench/results/predict_live.json $(BENCH_PREDICT_LIVE_FLAGS)

.PHONY: bench-sink
bench-sink: services ## Replay train.csv (970,379 events) through the PostgreSQL sink into an empty database; writes bench/results/sink.json.
	$(WITH_ENV) $(GO) run ./bench/sink -out bench/results/sink.json $(BENCH_SINK_FLAGS)

# ---- end of benchmark targets
