package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// Config is what a Sink needs. Zero durations and sizes take the defaults
// of setDefaults.
type Config struct {
	// Kafka is the broker connection.
	Kafka kafka.Config
	// Names are the topics and group: the sink consumes Sales and
	// ForecastResults as SinkGroup and dead-letters to SalesDLQ and
	// ForecastDLQ.
	Names topics.Names
	// PGDSN is the PostgreSQL connection string (URL or key=value).
	PGDSN string
	// Writers is the number of PostgreSQL connections writing in parallel;
	// partition p is written by connection p % Writers.
	Writers int
	// BatchRows closes a batch when it holds this many records.
	BatchRows int
	// BatchWait closes a batch this long after its first record.
	BatchWait time.Duration
	// FlushTimeout bounds the final flush when a session ends (rebalance or
	// shutdown); an unwritten batch is then left to be consumed again.
	FlushTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff between attempts
	// when PostgreSQL or Kafka fail.
	RetryMin, RetryMax time.Duration
	// Migrate applies pending migrations before consuming.
	Migrate bool
}

// Defaults.
const (
	DefaultWriters      = 2
	DefaultBatchRows    = 20_000
	DefaultBatchWait    = 200 * time.Millisecond
	DefaultFlushTimeout = 15 * time.Second
	DefaultRetryMin     = 100 * time.Millisecond
	DefaultRetryMax     = 5 * time.Second
)

func (c *Config) setDefaults() {
	if c.Writers == 0 {
		c.Writers = DefaultWriters
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.FlushTimeout == 0 {
		c.FlushTimeout = DefaultFlushTimeout
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.PGDSN == "" {
		errs = append(errs, errors.New("postgres dsn is empty"))
	} else if _, err := parseConnConfig(c.PGDSN); err != nil {
		errs = append(errs, err)
	}
	if c.Names.Sales == "" || c.Names.ForecastResults == "" || c.Names.SinkGroup == "" ||
		c.Names.SalesDLQ == "" || c.Names.ForecastDLQ == "" {
		errs = append(errs, errors.New("topic or group names are missing"))
	}
	if c.Writers < 1 || c.Writers > 64 {
		errs = append(errs, fmt.Errorf("writers %d is not in 1..64", c.Writers))
	}
	if c.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("batch rows %d is not positive", c.BatchRows))
	}
	if c.BatchWait < 0 || c.FlushTimeout < 0 || c.RetryMin < 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("durations must be positive and retry max (%s) at least retry min (%s)", c.RetryMax, c.RetryMin))
	}
	return errors.Join(errs...)
}
