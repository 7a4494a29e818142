// Package features holds Storecast's per-store state and the pure feature
// functions that read it. Training examples, feature snapshots and served
// forecasts all call this one piece of code, so training and serving never
// disagree. It does no I/O and imports only topics.
//
// # Days and causality
//
// A forecast made on as-of day A uses only facts of days before A and
// predicts target days T = A+h, h in 1..MaxHorizon. Every feature is a
// function of (State, Info, T, A, Known), where Known holds what a planner
// knows in advance about T and the days around it, T-BackDays..T+AheadDays
// (open, promo, holidays: planned, never observed); no feature reads a
// fact of a day on or after A (TestFeaturesAreCausal poisons those days
// and checks every feature). Examples and snapshots take the neighbours'
// inputs from the ring (State.KnownAt); serving from the request's rows
// of those days, else from the ring (days up to the as-of day), else they
// are unknown.
//
// # State
//
// State keeps the last RingDays days one by one and folds older days into
// aggregates (see State and docs/decisions/0001-store-state.md). Its binary
// codec (Codec, AppendBinary, UnmarshalBinary) is canonical and versioned.
// Features as of any A from State.EarliestAsOf on are exact.
//
// # Training examples
//
// Every trading day D (open, sales > 0) has one training example with
// features as of D - HorizonFor(store, D); the horizon is a hash of (store,
// D), uniform over 1..MaxHorizon. The example exists once it is complete:
// once the store's latest day is D+AheadDays or later, so that its
// week-after known inputs are known. AffectedDays lists the examples a
// changed day invalidates (its neighbours' too: their inputs are
// features); a new latest day emits only the days it completes.
//
// # Features (schema f3)
//
// Missing values are NaN. "Trading days" are open days with sales > 0;
// every mean is over the trading days before A. Weekday is ISO (1 Monday).
//
//	name                  meaning
//	store                 store id (trees learn store-specific levels from it)
//	store_type            store type a..d as 0..3
//	assortment            assortment a..c as 0..2
//	competition_distance  metres to the nearest competitor
//	competition_months    months from the competitor's opening to T (negative before); NaN if unknown
//	promo2_active         1 if the store takes part in Promo2 and T is on or after its start week
//	promo2_weeks          weeks from Promo2's start to T (negative before); NaN without Promo2
//	promo2_month          1 if Promo2 is active and T's month is in its PromoInterval
//	day_of_week           ISO day of week of T, 1..7
//	day_of_month          day of month of T, 1..31
//	month                 month of T, 1..12
//	year                  year of T
//	week_of_year          ISO week of T, 1..53
//	day_of_year           day of year of T, 1..366
//	promo                 known input: 1 if T has a promo
//	state_holiday         known input: T's state holiday, 0 none, 1 a, 2 b (Easter), 3 c (Christmas)
//	school_holiday        known input: 1 if T is a school holiday
//	days_to_holiday       days from T to the next German nationwide holiday (0 on one)
//	days_since_holiday    days from the last German nationwide holiday to T (0 on one)
//	easter_offset         T minus Easter Sunday of T's year, in days
//	days_to_christmas     Dec 25 of T's year minus T, in days
//	horizon               T - A, 1..48
//	history_days          number of trading days before A
//	mean_sales            mean sales per trading day before A
//	mean_sales_dow        mean sales on T's weekday
//	mean_sales_promo      mean sales on days with T's promo value
//	mean_sales_dow_promo  mean sales on T's weekday with T's promo value
//	mean_sales_month      mean sales in T's calendar month (any year)
//	promo_lift            mean sales on promo days / mean sales on other days
//	open_ratio_dow        trading days / days seen, on T's weekday
//	mean_customers        mean customers per trading day
//	sales_per_customer    total sales / total customers
//	mean_sales_28         mean sales of the trading days in [A-28, A)
//	trend_7               mean sales in [A-7, A) / mean_sales
//	trend_14              mean sales in [A-14, A) / mean_sales
//	trend_28              mean sales in [A-28, A) / mean_sales
//	days_since_trading    A minus the last trading day in [A-28, A); NaN if none
//	yoy_week_mean         mean sales of the trading days of the week holding T-364
//	yoy_ratio             yoy_week_mean / mean_sales
//	open_prev             known input of T-1: 1 if the store is open; NaN if unknown
//	promo_prev            known input of T-1: 1 if it has a promo; NaN if unknown
//	state_holiday_prev    known input of T-1: its state holiday 0..3; NaN if unknown
//	school_holiday_prev   known input of T-1: 1 if a school holiday; NaN if unknown
//	open_next             known input of T+1: 1 if the store is open; NaN if unknown
//	promo_next            known input of T+1: 1 if it has a promo; NaN if unknown
//	state_holiday_next    known input of T+1: its state holiday 0..3; NaN if unknown
//	school_holiday_next   known input of T+1: 1 if a school holiday; NaN if unknown
//	days_since_closed     days since the last closed day in T-14..T-1 (15 if none); NaN if an unknown day comes first
//	closed_run_before     closed days in a row ending at T-1 (0 if T-1 is open)
//	days_since_state_holiday days since the last state holiday in T-14..T-1 (15 if none); NaN as above
//	promo_run_day         on a promo day, its place in the promo run (1 the first day); 0 otherwise
//	school_run_day        on a school holiday, its place in the run (1 the first day); 0 otherwise
//	closed_prev_7         closed days in T-7..T-1; NaN if one is unknown
//	days_to_closed        days to the next closed day in T+1..T+7 (8 if none); NaN if an unknown day comes first
//	closed_run_after      closed days in a row from T+1 (0 if T+1 is open)
//	days_to_state_holiday days to the next state holiday in T+1..T+7 (8 if none); NaN as above
//	days_to_school_change days to the next day whose school holiday differs from T's (8 if none); NaN as above
//	closed_next_7         closed days in T+1..T+7; NaN if one is unknown
package features
