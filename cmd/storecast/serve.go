package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/IBM/sarama"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/api"
	"github.com/storecast/storecast/api/stores"
	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/history"
	"github.com/storecast/storecast/inspect"
	"github.com/storecast/storecast/internal/platform/health"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/publish"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
	"github.com/storecast/storecast/web"
)

// ServeCmd is `storecast serve`: the forecast API, the training API, the
// store views and the model feed in one process.
type ServeCmd struct {
	ForecastAddr  string        `help:"Listen address of the forecast API." default:"127.0.0.1:4242" env:"STORECAST_FORECAST_ADDR"`
	TrainAddr     string        `help:"Listen address of the training API." default:"127.0.0.1:4243" env:"STORECAST_TRAIN_ADDR"`
	DebugAddr     string        `help:"Listen address of pprof and /metrics (empty: off)." default:"" env:"STORECAST_DEBUG_ADDR"`
	PGReadDSN     string        `help:"PostgreSQL the dashboard's history reads (rossman_sales, forecast_results), in read-only sessions; empty: /v1/sales answers 503." env:"STORECAST_PG_READ_DSN"`
	PGReadRole    string        `help:"Role the history sessions switch to (SET ROLE), e.g. storecast_reader; the DSN's user must be a member. Empty: the DSN's user." env:"STORECAST_PG_READ_ROLE"`
	DashboardAddr string        `help:"Listen address of the web dashboard (empty: off); the APIs allow CORS from its origin only." default:"127.0.0.1:8000" env:"STORECAST_DASHBOARD_ADDR"`
	APIToken      string        `help:"Bearer token of mutating endpoints (POST /train, POST /v1/models/{name}/versions/{version}/promote, POST /v1/forecast-jobs); unset disables them (503)." env:"STORECAST_API_TOKEN"`
	StorageDir    string        `help:"Local storage of the views (LevelDB); empty keeps them in memory (the store table is small: recovery reads it in about a second, and reads skip LevelDB)." default:"" env:"STORECAST_SERVE_STORAGE_DIR"`
	NamesSuffix   string        `help:"Suffix of every topic and group name (tests)." env:"STORECAST_NAMES_SUFFIX"`
	LogQueue      int           `help:"Most served forecasts held in memory until Kafka acknowledges them (queued, in flight, or held while Kafka is away; about 0.6 KB each, 150 MB at the default) before requests wait, then fail (503)." default:"262144" env:"STORECAST_FORECAST_LOG_QUEUE"`
	LogWait       time.Duration `help:"How long a request waits for room in a full forecast log before it fails (503, urn:storecast:problem:forecast-log-full)." default:"2s" env:"STORECAST_FORECAST_LOG_WAIT"`
	LogBestEffort bool          `help:"When the forecast log is full, serve anyway and drop the forecasts it cannot hold (counted in storecast_forecast_log_dropped_total) instead of answering 503." default:"false" env:"STORECAST_FORECAST_LOG_BEST_EFFORT"`
	LogFlush      time.Duration `name:"log-flush-timeout" help:"On shutdown, how long serve keeps producing the forecasts it still holds (Kafka away: retried until then); what is left is dropped and logged." default:"15s" env:"STORECAST_FORECAST_LOG_FLUSH_TIMEOUT"`
	MaxRows       int           `help:"Most forecasts one /v1/forecasts request may ask for." default:"100000" env:"STORECAST_MAX_FORECAST_ROWS"`
	CacheSize     int           `help:"Predictions the cache keeps (by model, store state, days and inputs); 0 disables it." default:"262144" env:"STORECAST_PREDICTION_CACHE"`
	ShutdownWait  time.Duration `help:"How long shutdown waits for requests in flight." default:"10s" env:"STORECAST_SHUTDOWN_WAIT"`
	KafkaGrace    time.Duration `help:"/ready turns 503 when no background Kafka probe (one a second, 2s deadline) succeeded for this long." default:"15s" env:"STORECAST_READY_KAFKA_GRACE"`
	RateLimit     int           `help:"Most requests per second one client (IP) may send to each API; beyond it 429 (urn:storecast:problem:rate-limited) with Retry-After. 0: no limit. /health, /ready and /metrics are never limited." default:"100" env:"STORECAST_API_RATE_LIMIT"`
	RateExempt    []string      `name:"rate-limit-exempt" help:"Client networks (CIDR) the rate limit never applies to; default loopback (the local stack's tools, load test and benchmarks). Empty: none." default:"127.0.0.0/8,::1/128" env:"STORECAST_API_RATE_LIMIT_EXEMPT"`
	TrustedProxy  []string      `name:"trusted-proxies" help:"Proxies (CIDR) whose X-Forwarded-For names the client for the rate limit (nginx in compose); empty: the client is the TCP peer." env:"STORECAST_API_TRUSTED_PROXIES"`
	LogTopic      string        `name:"forecast-log-topic" help:"Topic every served forecast is logged to; empty: forecast_results (with the names suffix). Benchmarks point it at a topic of their own." env:"STORECAST_FORECAST_LOG_TOPIC"`
	AsOfQuorum    float64       `help:"Share (0..1] of the stores whose latest day must have reached the chain's as-of day (0.5: the median store's latest day)." default:"${as_of_quorum}" env:"STORECAST_AS_OF_QUORUM"`
	StaleDays     int           `help:"A store whose latest day lies more than this many days before the as-of day is left out of all-stores forecasts and refused (422 stale-store)." default:"${stale_days}" env:"STORECAST_STALE_DAYS"`
}

// Run runs the subcommand until ctx is done.
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	log := g.log.With("cmd", "serve")
	names := topics.DefaultNames()
	if c.NamesSuffix != "" {
		names = names.WithSuffix(c.NamesSuffix)
	}
	logTopic := string(names.ForecastResults)
	if c.LogTopic != "" {
		logTopic = c.LogTopic
	}
	kcfg := g.Kafka("serve")
	if err := kcfg.Validate(); err != nil {
		return err
	}
	clock := features.Clock{Quorum: c.AsOfQuorum, StaleDays: c.StaleDays}
	if c.StaleDays <= 0 {
		return fmt.Errorf("serve: --stale-days %d is not positive", c.StaleDays)
	}
	if err := clock.Validate(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("serve starting", "forecast_addr", c.ForecastAddr, "train_addr", c.TrainAddr, "debug_addr", c.DebugAddr,
		"dashboard_addr", c.DashboardAddr, "dashboard_built", web.Built(),
		"brokers", kcfg.Brokers, "forecast_log_topic", logTopic, "storage_dir", c.StorageDir, "api_token_set", c.APIToken != "", "names_suffix", c.NamesSuffix,
		"as_of_quorum", clock.Quorum, "stale_days", clock.StaleDays,
		"rate_limit", c.RateLimit, "rate_limit_exempt", c.RateExempt, "trusted_proxies", c.TrustedProxy)
	limit, err := c.rateLimit()
	if err != nil {
		return err
	}
	reg := g.Registry(log)
	m := api.NewMetrics(reg)

	// Kafka clients: one for the topic tails (models, train_results), an
	// async producer for forecast_results, a sync one for train_requests
	// and forecast jobs' forecast_requests.
	tailCfg := kcfg.Sarama()
	tailCfg.Consumer.Return.Errors = true
	client, err := sarama.NewClient(kcfg.Brokers, tailCfg)
	if err != nil {
		return fmt.Errorf("serve: kafka client: %w", err)
	}
	defer client.Close()
	logProducer, err := sarama.NewAsyncProducer(kcfg.Brokers, kcfg.IdempotentProducer(true))
	if err != nil {
		return fmt.Errorf("serve: forecast-results producer: %w", err)
	}
	trainProducer, err := newSyncProducer(kcfg)
	if err != nil {
		_ = logProducer.Close()
		return err
	}
	defer trainProducer.Close()

	// Views, models, the train-results tracker.
	vs, err := views.New(views.Config{Names: names, Kafka: kcfg, StorageDir: c.StorageDir, Clock: clock}, log, reg)
	if err != nil {
		_ = logProducer.Close()
		return err
	}
	mc, err := g.MLflow(c.NamesSuffix)
	if err != nil {
		_ = logProducer.Close()
		return err
	}
	registry, models := forecasting.NewRegistryModels(features.Names(), log.With("component", "models"), modelOptions(mc)...)
	modelFeed := views.NewModelFeed(client, string(names.Models), registry, log.With("component", "model-feed"), views.NewModelFeedMetrics(reg))
	modelFeed.Suffix = c.NamesSuffix
	tracker := views.NewResultTracker()
	resultFeed := views.NewResultFeed(client, string(names.TrainResults), tracker, log.With("component", "train-results"))
	forecastLog := publish.NewForecastLog(logProducer, publish.ForecastLogConfig{
		Topic: logTopic, Hold: c.LogQueue, MaxWait: c.LogWait, BestEffort: c.LogBestEffort, FlushTimeout: c.LogFlush,
	}, log, publish.NewForecastLogMetrics(reg))
	cacheSize := c.CacheSize
	if cacheSize <= 0 {
		cacheSize = -1 // disabled
	}
	stores := forecasting.NewTableStores(vs)
	drift := forecasting.NewDrift(0, 0)
	engine := forecasting.NewEngine(stores, models, forecasting.NewMetrics(reg), forecasting.EngineConfig{FeatureNames: features.Names(), CacheSize: cacheSize, Drift: drift, Clock: clock})
	reg.MustRegister(forecasting.NewModelMetrics(models, stores), drift)
	// Each listener's /metrics serves its own series only, so scraping both
	// counts nothing twice: the training API its requests and the train
	// requests it emitted, the forecast API everything else (the process,
	// views, models, forecasts). The debug listener serves all of them.
	trainSeries, forecastSeries := metrics.Split(reg, func(family string, m *dto.Metric) bool {
		return family == "storecast_api_train_requests_total" || metrics.HasLabel(m, "server", "train")
	})

	// Handlers.
	storesH, err := storesHandler(vs, log)
	if err != nil {
		return err
	}
	// Readiness reads the verdict of a background probe (internal/platform/health).
	kafkaDep := health.NewDependency("kafka",
		kafka.Reachable(kcfg, logTopic, string(names.TrainRequests), string(names.Models)),
		health.Config{Grace: c.KafkaGrace}, health.NewMetrics(reg), log)
	kafkaCheck := api.Check{Name: kafkaDep.Name(), Probe: kafkaDep.Check}
	// The dashboard's read models: Kafka inspection and PostgreSQL history.
	// The inspector has a client of its own: requests on the tails'
	// connection would queue behind their long-polling fetches. The
	// trainer's consumer group is named in trainer/.../names.py.
	inspectClient, err := sarama.NewClient(kcfg.Brokers, tailCfg)
	if err != nil {
		return fmt.Errorf("serve: kafka client (inspection): %w", err)
	}
	defer inspectClient.Close()
	inspector, err := inspect.New(inspectClient, names, suffixed("storecast-trainer", c.NamesSuffix))
	if err != nil {
		return err
	}
	defer inspector.Close()
	// Forecast jobs: requests out on forecast_requests (the sync producer),
	// progress from forecast_results through the history reader.
	var sales api.SalesReader
	var jobRequests api.ForecastRequestEmitter
	var jobProgress api.ForecastJobReader
	if c.PGReadDSN != "" {
		hr, err := history.Open(ctx, history.Config{DSN: c.PGReadDSN, Role: c.PGReadRole})
		if err != nil {
			return err
		}
		defer hr.Close()
		sales, jobProgress = hr, hr
		jobRequests = publish.NewForecastRequests(trainProducer, string(names.ForecastRequests))
	}
	var versions api.ModelVersionReader
	var lookup api.ModelVersionLookup
	if mc != nil {
		versions, lookup = mc, mc
	}
	fcfg := api.ForecastConfig{
		Engine: engine, Log: forecastLog, Metrics: m, Gatherer: forecastSeries, Logger: log, MaxRows: c.MaxRows,
		Stores: storesH, Pipeline: inspector, History: sales, Offers: registry, AsOf: vs, Versions: versions,
		Token: c.APIToken, JobRequests: jobRequests, JobProgress: jobProgress, RateLimit: limit,
		Ready: []api.Check{
			{Name: "model", Probe: func(context.Context) error {
				if models.Default() == nil {
					return fmt.Errorf("no %s model loaded yet (%s)", model.GlobalModelName, modelFeedState(modelFeed, registry))
				}
				return nil
			}},
			{Name: "views", Probe: func(context.Context) error {
				if !vs.Recovered() {
					return errors.New("store views are recovering")
				}
				return nil
			}},
			kafkaCheck,
		},
	}
	// The registry's champion beside the served version (needs MLflow).
	var regWatch *views.RegistryWatch
	if mc != nil {
		regWatch = views.NewRegistryWatch(suffixed(model.GlobalModelName, c.NamesSuffix), mc,
			views.ServedBy(registry, model.GlobalModelName), 0, log.With("component", "registry-watch"), reg)
		fcfg.Registry = regWatch
	}
	forecastH, err := api.NewForecastHandler(fcfg)
	if err != nil {
		return err
	}
	trainH, err := api.NewTrainHandler(api.TrainConfig{
		Emitter: publish.NewTrainRequests(trainProducer, string(names.TrainRequests)), Results: tracker, Versions: lookup,
		Token: c.APIToken, Metrics: m, Gatherer: trainSeries, Logger: log, RateLimit: limit,
		Ready: []api.Check{kafkaCheck, {Name: "train_results", Probe: resultFeed.Probe}},
	})
	if err != nil {
		return err
	}

	var dash http.Handler
	if c.DashboardAddr != "" {
		if dash, err = web.NewHandler(web.Config{ForecastAddr: c.ForecastAddr, TrainAddr: c.TrainAddr, Logger: log.With("component", "dashboard")}); err != nil {
			return err
		}
	}

	// Run everything; the forecast log outlives the HTTP servers so every
	// forecast served is flushed to Kafka.
	logCtx, stopLog := context.WithCancel(context.Background())
	defer stopLog()
	logDone := make(chan error, 1)
	go func() { logDone <- forecastLog.Run(logCtx) }()

	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return kafkaDep.Run(gctx) })
	grp.Go(func() error { return vs.Run(gctx) })
	grp.Go(func() error { return modelFeed.Run(gctx) })
	grp.Go(func() error { return resultFeed.Run(gctx) })
	if regWatch != nil {
		grp.Go(func() error { return regWatch.Run(gctx) })
	}
	grp.Go(func() error { return metrics.Serve(gctx, log, c.DebugAddr, metrics.Handler(reg)) })
	origins := web.Origins(c.DashboardAddr)
	grp.Go(func() error { return c.listen(gctx, log, "forecast", c.ForecastAddr, web.CORS(origins, forecastH)) })
	grp.Go(func() error { return c.listen(gctx, log, "train", c.TrainAddr, web.CORS(origins, trainH)) })
	if dash != nil {
		grp.Go(func() error { return c.listen(gctx, log, "dashboard", c.DashboardAddr, dash) })
	}
	err = grp.Wait()
	stopLog()
	if lerr := <-logDone; lerr != nil {
		err = errors.Join(err, lerr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("serve stopped")
	return nil
}

// suffixed appends "-suffix" to name when suffix is set, as
// topics.Names.WithSuffix does for the names it holds.
func suffixed(name, suffix string) string {
	if suffix == "" {
		return name
	}
	return name + "-" + suffix
}

func modelFeedState(f *views.ModelFeed, r *model.Registry) string {
	if !f.Recovered() {
		return "still reading the models topic"
	}
	if o, ok := r.Latest(model.GlobalModelName); ok && o.Err != nil {
		return fmt.Sprintf("the models topic has no loadable model: version %s was refused: %v", o.Version, o.Err)
	}
	return "the models topic has no loadable model"
}

func newSyncProducer(kcfg kafka.Config) (sarama.SyncProducer, error) {
	sc := kcfg.IdempotentProducer(true)
	sc.Producer.Flush.Frequency = 0
	sc.Producer.Flush.Messages = 0
	sc.Producer.Flush.Bytes = 0
	p, err := sarama.NewSyncProducer(kcfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("serve: train-requests producer: %w", err)
	}
	return p, nil
}

// listen serves h on addr until ctx is done, then shuts down gracefully.
func (c *ServeCmd) listen(ctx context.Context, log *slog.Logger, name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve %s: listen %s: %w", name, addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// GET /train/{id}?wait= may hold a request up to api.MaxTrainWait.
		WriteTimeout: api.MaxTrainWait + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "api", name, "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: shutdown: %w", name, err)
	}
	return nil
}

// storesHandler returns the /v1/stores handler over the views (api/stores).
func storesHandler(vs *views.Views, log *slog.Logger) (http.Handler, error) {
	return stores.NewHandler(stores.Config{States: vs.States, Infos: vs.Infos, IDs: vs.Infos.Stores, Ready: vs.Recovered, Logger: log.With("component", "stores")})
}

// rateLimit is the APIs' per-client limit from the flags.
func (c *ServeCmd) rateLimit() (api.RateLimit, error) {
	if c.RateLimit < 0 {
		return api.RateLimit{}, fmt.Errorf("--rate-limit %d: want 0 (no limit) or more", c.RateLimit)
	}
	exempt, err := api.ParsePrefixes(c.RateExempt)
	if err != nil {
		return api.RateLimit{}, fmt.Errorf("--rate-limit-exempt: %w", err)
	}
	proxies, err := api.ParsePrefixes(c.TrustedProxy)
	if err != nil {
		return api.RateLimit{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	return api.RateLimit{PerSecond: c.RateLimit, Exempt: exempt, TrustedProxies: proxies}, nil
}
