package features

import (
	"math"
	"slices"

	"github.com/storecast/storecast/topics"
)

// The chain's clock. Forecasts are made as of one day for every store; it
// is derived from every store's latest day robustly, so that one store
// (or one bad event) cannot move it, and a store whose own history ended
// long before it is not forecast as if it were current.
const (
	// AsOfQuorum is the share of stores whose latest day must have reached
	// the as-of day (see QuorumDay): the median store's latest day.
	AsOfQuorum = 0.5
	// StaleDays is how many days a store's latest day may lie before the
	// as-of day: a store silent for longer (closed, stopped reporting) is
	// left out of the all-stores forecasts and a forecast asked for it is
	// refused with the reason (forecasting.ErrStaleStore), not answered
	// with a confident number from a stale history.
	StaleDays = 28
)

// AsOfRule says, for people, how the as-of day is derived.
const AsOfRule = "the latest day at least half of the stores have sales for (features.QuorumDay); stores whose latest day is more than 28 days (features.StaleDays) before it, or whose sales run so far past it that their state cannot serve it, are excluded"

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

// Stale reports whether a store whose latest day is latest is too far
// behind asOf to be forecast (more than StaleDays days).
func Stale(latest, asOf topics.Date) bool { return int(asOf-latest) > StaleDays }
