package ingest

import (
	"fmt"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress reports acknowledged records against total until stop is
// called: a bar on Config.Bar, or a log line every Config.LogEvery.
func (p *Producer) progress(total int64, start time.Time) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	if p.cfg.Bar != nil {
		bar := progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.cfg.Bar),
			progressbar.OptionSetDescription("producing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.cfg.Bar) }),
		)
		go func() {
			defer wg.Done()
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				n := min(p.acked.Load(), total)
				_ = bar.Set64(n) // writes to a terminal; nothing to do on failure
				select {
				case <-quit:
					_ = bar.Set64(min(p.acked.Load(), total))
					_ = bar.Exit()
					fmt.Fprintln(p.cfg.Bar)
					return
				case <-t.C:
				}
			}
		}()
	} else {
		go func() {
			defer wg.Done()
			t := time.NewTicker(p.cfg.LogEvery)
			defer t.Stop()
			last, lastAt := int64(0), start
			for {
				select {
				case <-quit:
					return
				case now := <-t.C:
					n := p.acked.Load()
					rate := float64(n-last) / now.Sub(lastAt).Seconds()
					attrs := []any{"acked", n, "total", total, "events_per_s", int64(rate)}
					if rate > 0 && n < total {
						attrs = append(attrs, "eta", time.Duration(float64(total-n)/rate*float64(time.Second)).Round(time.Second))
					}
					p.log.Info("progress", attrs...)
					last, lastAt = n, now
				}
			}
		}()
	}
	return func() {
		close(quit)
		wg.Wait()
	}
}
