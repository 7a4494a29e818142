package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storecast/storecast/ingest/kaggle"
	"github.com/storecast/storecast/ingest/synth"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestProducer(t *testing.T, f *testkit.FakeProducer, cfg Config) (*Producer, *Metrics) {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Names.Sales == "" {
		cfg.Names = topics.DefaultNames().WithSuffix("t")
	}
	return New(f, cfg, quiet(), m), m
}

func testInput(t *testing.T) Input {
	t.Helper()
	g, err := synth.New(synth.Config{Stores: 5, Start: topics.DateFromYMD(2015, 1, 1), End: topics.DateFromYMD(2015, 1, 20), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := FromGenerator(g)
	bad, err := kaggle.ReadSalesFile("testdata/bad_train.csv", kaggle.SalesOptions{Known: func(s int) bool { return s >= 1 && s <= 1115 }})
	if err != nil {
		t.Fatal(err)
	}
	in.SaleRejects = bad.Rejects
	in.StoreRejects = []kaggle.Reject{{File: "store.csv", Line: 3, Payload: []byte(`x,"a"`), Err: errors.New("parse: row has 2 columns, want 10")}}
	return in
}

// TestRunSendsInOrder checks stores go first (acknowledged before anything
// else), then dead letters, then sales in order, each keyed by store and
// encoded as the codecs decode, and that the metrics and summary count them.
func TestRunSendsInOrder(t *testing.T) {
	t.Parallel()
	in := testInput(t)
	f := testkit.NewFakeProducer(testkit.Succeed)
	p, m := newTestProducer(t, f, Config{})
	n := p.cfg.Names
	sum, err := p.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	nStores, nDLQ := len(in.Stores), len(in.StoreRejects)+len(in.SaleRejects)
	if want := nStores + nDLQ + len(in.Sales); len(msgs) != want {
		t.Fatalf("sent %d messages, want %d", len(msgs), want)
	}
	for i, msg := range msgs[:nStores] {
		if msg.Topic != string(n.StoreInfo) {
			t.Fatalf("message %d on %s, want store info first", i, msg.Topic)
		}
		v, _ := msg.Value.Encode()
		s, err := topics.StoreInfoCodec{}.Decode(v)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := msg.Key.Encode(); string(k) != topics.StoreKey(s.(*topics.StoreInfo).Store) {
			t.Errorf("store info keyed %q", k)
		}
	}
	if got := f.AckedAt(nStores); got != nStores {
		t.Errorf("first record after the stores was sent with %d of %d stores acknowledged", got, nStores)
	}
	for i, msg := range msgs[nStores : nStores+nDLQ] {
		want := string(n.SalesDLQ)
		if i < len(in.StoreRejects) {
			want = string(n.StoreInfoDLQ)
		}
		if msg.Topic != want {
			t.Fatalf("dead letter %d on %s, want %s", i, msg.Topic, want)
		}
		v, _ := msg.Value.Encode()
		d, err := topics.DeadLetterCodec{}.Decode(v)
		if err != nil {
			t.Fatal(err)
		}
		dl := d.(*topics.DeadLetter)
		if dl.Line == 0 || dl.File == "" || dl.Reason == "" || dl.Payload == "" || dl.Stage != Stage {
			t.Errorf("dead letter %d incomplete: %+v", i, dl)
		}
	}
	for i, msg := range msgs[nStores+nDLQ:] {
		if msg.Topic != string(n.Sales) {
			t.Fatalf("sale %d on %s", i, msg.Topic)
		}
		v, _ := msg.Value.Encode()
		got, err := topics.SaleCodec{}.Decode(v)
		if err != nil {
			t.Fatal(err)
		}
		if *got.(*topics.Sale) != in.Sales[i] {
			t.Fatalf("sale %d: got %+v, want %+v", i, got, in.Sales[i])
		}
		if k, _ := msg.Key.Encode(); string(k) != topics.StoreKey(in.Sales[i].Store) {
			t.Fatalf("sale %d keyed %q", i, k)
		}
	}
	if sum.Sales != int64(len(in.Sales)) || sum.Stores != int64(nStores) || sum.Rejected != int64(nDLQ) {
		t.Errorf("summary %+v, want %d sales, %d stores, %d rejected", sum, len(in.Sales), nStores, nDLQ)
	}
	if got := testutil.ToFloat64(m.sent.WithLabelValues(string(n.Sales))); got != float64(len(in.Sales)) {
		t.Errorf("events_sent_total{sales} = %v", got)
	}
	// The fixture has 3 rows that did not parse (2 column counts, 1 quote),
	// plus the store row.
	if got := testutil.ToFloat64(m.rejected.WithLabelValues("parse")); got != 4 {
		t.Errorf("events_rejected_total{parse} = %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.rejected.WithLabelValues("date")); got != 3 {
		t.Errorf("events_rejected_total{date} = %v, want 3", got)
	}
	if got := testutil.CollectAndCount(m.latency); got != 1 {
		t.Errorf("latency histogram: %d series", got)
	}
}

// TestRunFailureIsFatal checks a send error stops the run with that error.
func TestRunFailureIsFatal(t *testing.T) {
	t.Parallel()
	in := testInput(t)
	boom := errors.New("boom")
	failAt := len(in.Stores) + 40
	f := testkit.NewFakeProducer(func(i int, _ *sarama.ProducerMessage) error {
		if i == failAt {
			return boom
		}
		return nil
	})
	p, _ := newTestProducer(t, f, Config{})
	sum, err := p.Run(context.Background(), in)
	if !errors.Is(err, boom) {
		t.Fatalf("Run error %v, want boom", err)
	}
	if sum.Sales+sum.Stores+sum.Rejected >= int64(len(f.Messages())) {
		t.Errorf("summary %+v counts the failed record", sum)
	}
	if sum.Sales == int64(len(in.Sales)) {
		t.Error("every sale counted as sent despite the failure")
	}
}

// TestRunInterrupted checks a finite run cut short by ctx is an error.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	in := testInput(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := testkit.NewFakeProducer(testkit.Succeed)
	p, _ := newTestProducer(t, f, Config{})
	if _, err := p.Run(ctx, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error %v, want context.Canceled", err)
	}
}

// TestRunLive checks the live mode sends consecutive days after the
// history and ends without error when ctx ends.
func TestRunLive(t *testing.T) {
	t.Parallel()
	in := testInput(t)
	in.SaleRejects, in.StoreRejects = nil, nil
	g, err := synth.New(synth.Config{Stores: 5, Start: topics.DateFromYMD(2015, 1, 1), End: topics.DateFromYMD(2015, 1, 20), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var days []topics.Date
	in.LiveFrom = topics.DateFromYMD(2015, 1, 21)
	in.Live = func(d topics.Date) []topics.Sale {
		days = append(days, d)
		if len(days) == 3 {
			cancel()
		}
		return g.Day(d, nil)
	}
	f := testkit.NewFakeProducer(testkit.Succeed)
	p, _ := newTestProducer(t, f, Config{Interval: 1, Rate: 1e6})
	sum, err := p.Run(ctx, in)
	if err != nil {
		t.Fatalf("live run ended with %v, want nil", err)
	}
	if len(days) != 3 || days[0] != in.LiveFrom || days[2] != in.LiveFrom+2 {
		t.Errorf("live days %v, want 3 from %s", days, in.LiveFrom)
	}
	if sum.LiveDays < 2 || sum.Sales < int64(len(in.Sales)+10) {
		t.Errorf("summary %+v", sum)
	}
	// Dates ascend within every store across history and live days.
	last := map[string]topics.Date{}
	for _, msg := range f.Messages() {
		if msg.Topic != string(p.cfg.Names.Sales) {
			continue
		}
		v, _ := msg.Value.Encode()
		s, _ := topics.SaleCodec{}.Decode(v)
		k, _ := msg.Key.Encode()
		d := s.(*topics.Sale).Date
		if d <= last[string(k)] {
			t.Fatalf("store %s: %s after %s", k, d, last[string(k)])
		}
		last[string(k)] = d
	}
}

// TestProgressBar checks the bar is drawn to a writer and completes.
func TestProgressBar(t *testing.T) {
	t.Parallel()
	in := testInput(t)
	var buf testkit.SyncBuffer
	f := testkit.NewFakeProducer(testkit.Succeed)
	p, _ := newTestProducer(t, f, Config{Bar: &buf})
	if _, err := p.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "producing") || !strings.Contains(out, "100%") {
		t.Errorf("progress output %q lacks the description or 100%%", out)
	}
}
