package ingest

import (
	"context"
	"fmt"
	"time"
)

// pacer spaces events at a fixed rate: event n is due at start + n/rate.
// It sleeps only when at least a millisecond ahead, so high rates cost a
// clock read per event, and a stall is caught up at full speed.
type pacer struct {
	rate  float64
	start time.Time
	n     int64
	timer *time.Timer
}

func newPacer(rate float64) *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{rate: rate, start: time.Now(), timer: t}
}

// wait returns when the next event is due, or ctx's error.
func (p *pacer) wait(ctx context.Context) error {
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	p.n++
	d := time.Until(due)
	if d < time.Millisecond {
		return nil
	}
	p.timer.Reset(d)
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return fmt.Errorf("produce interrupted: %w", ctx.Err())
	}
}

func (p *pacer) stop() { p.timer.Stop() }
