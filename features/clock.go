package features

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/storecast/storecast/topics"
)

// The chain's clock. Forecasts are made as of one day for every store; it
// is derived from every store's latest day robustly, so that one store
// (or one bad event) cannot move it, and a store whose own history ended
// long before it is not forecast as if it were current.
const (
	// DefaultAsOfQuorum is the default Clock.Quorum: the median store's
	// latest day.
	DefaultAsOfQuorum = 0.5
	// DefaultStaleDays is the default Clock.StaleDays.
	DefaultStaleDays = 28
)

// Clock is how the chain's as-of day is derived from the stores' latest
// days, and which stores are too far behind it to be forecast. The zero
// value means the defaults (DefaultClock); `storecast serve` sets it from
// --as-of-quorum and --stale-days.
type Clock struct {
	// Quorum is the share (0..1] of stores whose latest day must have
	// reached the as-of day (see QuorumDay). 0: DefaultAsOfQuorum.
	Quorum float64
	// StaleDays is how many days a store's latest day may lie before the
	// as-of day: a store silent for longer (closed, stopped reporting) is
	// left out of the all-stores forecasts and a forecast asked for it is
	// refused with the reason (forecasting.ErrStaleStore), not answered
	// with a confident number from a stale history. 0: DefaultStaleDays.
	StaleDays int
}

// DefaultClock returns the clock with the default quorum and staleness.
func DefaultClock() Clock { return Clock{Quorum: DefaultAsOfQuorum, StaleDays: DefaultStaleDays} }

// WithDefaults returns c with its zero fields set to the defaults.
func (c Clock) WithDefaults() Clock {
	if c.Quorum == 0 {
		c.Quorum = DefaultAsOfQuorum
	}
	if c.StaleDays == 0 {
		c.StaleDays = DefaultStaleDays
	}
	return c
}

// Validate reports every out-of-range field (after WithDefaults).
func (c Clock) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if math.IsNaN(c.Quorum) || c.Quorum <= 0 || c.Quorum > 1 {
		errs = append(errs, fmt.Errorf("as-of quorum %v is not in (0, 1]", c.Quorum))
	}
	if c.StaleDays < 0 {
		errs = append(errs, fmt.Errorf("stale days %d is negative", c.StaleDays))
	}
	return errors.Join(errs...)
}

// AsOf returns the as-of day for the given latest days of the stores
// (QuorumDay with c.Quorum); ok is false for no stores.
func (c Clock) AsOf(latest []topics.Date) (day topics.Date, ok bool) {
	return QuorumDay(latest, c.WithDefaults().Quorum)
}

// Stale reports whether a store whose latest day is latest is too far
// behind asOf to be forecast (more than c.StaleDays days).
func (c Clock) Stale(latest, asOf topics.Date) bool {
	return int(asOf-latest) > c.WithDefaults().StaleDays
}

// Rule says, for people, how the as-of day is derived.
func (c Clock) Rule() string {
	c = c.WithDefaults()
	share := "half"
	if c.Quorum != 0.5 {
		share = strconv.FormatFloat(100*c.Quorum, 'f', -1, 64) + " %"
	}
	return fmt.Sprintf("the latest day at least %s of the stores have sales for (--as-of-quorum %v, features.QuorumDay); stores whose latest day is more than %d days (--stale-days) before it, or whose sales run so far past it that their state cannot serve it, are excluded",
		share, c.Quorum, c.StaleDays)
}

// QuorumDay returns the latest day that at least quorum (0..1] of the
// given latest days have reached: with n stores, the k-th latest of their
// latest days, k = ceil(quorum·n). One store far ahead (or far behind)
// does not move it. ok is false for no stores.
func QuorumDay(latest []topics.Date, quorum float64) (day topics.Date, ok bool) {
	if len(latest) == 0 {
		return 0, false
	}
	s := slices.Clone(latest)
	slices.Sort(s)
	k := int(math.Ceil(quorum * float64(len(s))))
	k = min(max(k, 1), len(s))
	return s[len(s)-k], true
}
