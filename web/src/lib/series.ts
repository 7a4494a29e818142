// Shapes a store's history and forecast into the aligned series of the
// sales chart: one x per day, actual sales, past forecasts and the coming
// forecast, null where a series has no value.
import type { Series } from "../components/TimeSeriesChart";
import { toEpoch } from "./dates";

interface Dated {
  date: string;
}

/** chartSeries aligns history days, past forecasts and coming forecasts on one day axis. */
export function chartSeries(
  rows: (Dated & { predicted_sales: number })[],
  history: { days: (Dated & { sales: number; open: number })[]; forecasts: (Dated & { predicted_sales: number })[] },
): { x: number[]; series: Series[] } {
  const days = new Set<string>();
  for (const d of history.days) days.add(d.date);
  for (const f of history.forecasts) days.add(f.date);
  for (const r of rows) days.add(r.date);
  const sorted = [...days].sort();
  const actual = new Map(history.days.map((d) => [d.date, d.open ? d.sales : null]));
  const past = new Map(history.forecasts.map((f) => [f.date, f.predicted_sales]));
  const future = new Map(rows.map((r) => [r.date, r.predicted_sales]));
  return {
    x: sorted.map(toEpoch),
    series: [
      { label: "actual", color: "#2c6fbb", values: sorted.map((d) => actual.get(d) ?? null) },
      { label: "past forecasts", color: "#8a8a8a", values: sorted.map((d) => past.get(d) ?? null), dash: [4, 3] },
      { label: "forecast", color: "#d6604d", values: sorted.map((d) => future.get(d) ?? null) },
    ],
  };
}
