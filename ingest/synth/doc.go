// Package synth generates daily store sales in the shape of Kaggle's
// Rossmann Store Sales data: store metadata like store.csv and one
// topics.Sale per store and day like train.csv. It is Storecast's default
// input and its demo data.
//
// # Determinism
//
// Output depends only on the Config. Store parameters come from a PCG
// generator seeded with (Seed, store id); every daily draw is a hash of
// (Seed, store, day, purpose), so Day(d) is random access: any day, inside
// or after the configured window, is the same whenever it is asked for.
// That is what lets `storecast produce --shift-to-today` emit one new day
// per interval forever.
//
// # Stores
//
//   - Store types as in Kaggle: a 54%, b 1.5%, c 13%, d 31.5%. Assortment
//     for type b: b 50%, a 30%, c 20%; otherwise a 53%, c 47%.
//   - Level (mean sales on an ordinary open day): a 6,900, b 10,200,
//     c 6,900, d 6,800, times a per-store log-normal factor (sigma 0.33);
//     stores in Promo2 sell 8% less (as in Kaggle). Config.Levels can
//     replace it (for example with levels measured from real history).
//   - Sales per customer: a 8.8, b 5.1, c 8.6, d 11.3, times a log-normal
//     factor (sigma 0.10).
//   - Trend: a yearly growth drawn from N(2%, 3%).
//   - CompetitionDistance: log-normal with median 2,300 m (sigma 1.2),
//     20..75,000 m, missing for 0.3% of stores. 68% of stores know when the
//     competitor opened; a quarter of those opened inside the window.
//   - Promo2: 51% of stores, since a week in the four years before the
//     window's end, with one of Kaggle's three PromoIntervals.
//   - State: one of eight German states (NW 28%, BY 16%, BW 10%, HE 10%,
//     SH 9%, SN 9%, TH 11%, BE 7%); it decides regional holidays and
//     school holidays.
//   - Sunday opening: every type-b store and 1.5% of the others open on
//     Sundays and state holidays; when none would, the middle store of
//     five or more becomes one, so the demo always has one.
//
// # Days
//
// A store is closed (Open 0, Sales 0, Customers 0) on:
//   - Sundays, unless it opens on Sundays;
//   - state holidays, unless it opens on Sundays: "a" public holidays (New
//     Year, 1 May, Ascension, Whit Monday, 3 October, and by state
//     Epiphany, Corpus Christi, Reformation Day, All Saints), "b" Easter
//     (Good Friday, Easter Monday), "c" Christmas (25 and 26 December);
//   - refurbishment: 5% of stores close once for 60..180 days inside the
//     window and sell 15% more (fading over 30 days) when they reopen;
//   - 0.3% of other days at random.
//
// On an open day, sales are the level times:
//   - weekday: Mon 1.18, Tue 1.04, Wed 0.98, Thu 0.97, Fri 1.03, Sat 0.85,
//     Sun 1.05;
//   - month: Jan 0.94, Feb 0.95, Mar-Jun 1.00, Jul 1.02, Aug 0.98, Sep and
//     Oct 0.97, Nov 1.03, Dec 1.15; 14..23 December a further 1.15,
//     24 December 0.75 and 31 December 0.85 (short days);
//   - promotion 1.30 (customers 1.15): the chain runs Promo on Monday to
//     Friday of every other ISO week plus 15% of the remaining weeks, so
//     about 40% of all days (Promo is set on closed days too, as in Kaggle);
//   - Promo2 1.03 in the months of the store's interval once it started;
//   - school holiday 1.03; the day before a closing holiday 1.10;
//   - competitor opening inside the window: down by 5% + 15% * exp(-d/2000 m)
//     after it, phased in over 28 days;
//   - trend (1+growth)^(years since the window's start);
//   - noise: log-normal, sigma 0.09 (mean 1).
//
// Customers are sales divided by the store's sales per customer, times
// log-normal noise (sigma 0.04) and the inverse of the promo's extra basket.
//
// School holidays (SchoolHoliday 1, weekends included) by state and year:
// Christmas (23 December to 6 January), two weeks around Easter, six summer
// weeks starting between 20 June and 31 July, 12 autumn days starting
// between 1 and 21 October, and a Whitsun week in BY and BW.
//
// The shares these rules give (tested in shape_test.go): 15..22% closed
// days, 35..46% promo days, a promo lift of 1.2..1.4 on like weekdays,
// Monday the best and Saturday the worst open weekday, and at least 90% of
// store-Sundays closed.
package synth
