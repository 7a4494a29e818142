package sink

import (
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
)

// TestPostgresCrashRestart streams sales into the sink while its
// PostgreSQL crashes and restarts (`pg_ctl restart -m immediate`: no
// checkpoint, WAL recovery on start): the sink reconnects by itself,
// becomes ready again, and rossman_sales equals the input exactly (no row
// lost, none doubled: the offsets commit in the rows' transaction).
func TestPostgresCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	t.Parallel()
	kc := testkit.Kafka(t)
	pg := testkit.PrivatePostgres(t)
	dsn := pg.DSN
	e := newEnvOn(t, kc, dsn)
	all := trainSales(t)
	before, during := all[:100_000], all[100_000:200_000]
	produce(t, e.kafka, string(e.names.Sales), saleMessages(before))
	r := start(t, e.config(dsn))
	deadline := time.Now().Add(time.Minute)
	for total(storedOffsets(t, dsn, e.names.SinkGroup, string(e.names.Sales))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("sink wrote nothing")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		produce(t, e.kafka, string(e.names.Sales), saleMessages(during))
	}()
	took := pg.CrashRestart(t)
	restarted := time.Now()
	t.Logf("PostgreSQL crash-restarted in %s", took.Round(time.Millisecond))
	<-done

	waitCaughtUp(t, e, dsn, e.names.SinkGroup, 3*time.Minute, string(e.names.Sales))
	testkit.CheckSales(t, dsn, testkit.LatestSales(before, during))
	deadline = time.Now().Add(30 * time.Second)
	for !r.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("sink not ready 30 s after catching up")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	t.Logf("sink caught up and ready %s after PostgreSQL was back", time.Since(restarted).Round(100*time.Millisecond))
}
