package sink

import (
	"context"
	"log/slog"
	"testing"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// BenchmarkStoreWrite measures one 20,000-row batch of new sales through
// Store.Write, by path (needs PostgreSQL: STORECAST_PG_ADMIN_DSN).
func BenchmarkStoreWrite(b *testing.B) {
	for _, mode := range []struct {
		name   string
		upsert bool
	}{{"direct", false}, {"upsert", true}} {
		b.Run(mode.name, func(b *testing.B) {
			dsn := testkit.Postgres(b)
			ctx := context.Background()
			if _, err := Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
				b.Fatal(err)
			}
			st, err := NewStore(dsn, "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close(ctx)
			const rows = 20_000
			day := topics.DateFromYMD(1990, 1, 1)
			expected := map[topicPartition]int64{}
			var offset int64
			batches := make([]*batch, b.N)
			for i := range batches {
				bt := newBatch(salesTopic, forecastTopic, rows)
				for j := 0; j < rows; j++ {
					n := i*rows + j
					d := day.AddDays(n / 1115)
					bt.add(saleMsg(0, offset, 1+n%1115, 1000+n%777, d.String()), offset+1)
					offset++
				}
				batches[i] = bt
			}
			b.ResetTimer()
			for i, bt := range batches {
				if mode.upsert {
					st.upsertOnly = 1 << 30
				}
				if _, err := st.Write(ctx, bt, expected); err != nil {
					b.Fatalf("batch %d: %v", i, err)
				}
				expected[topicPartition{salesTopic, 0}] = bt.next[topicPartition{salesTopic, 0}]
			}
			b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
