// Shapes a store's history and forecast into the aligned series of the
// sales chart: one x per day, actual sales, past forecasts and the coming
// forecast with its interval band when the model has intervals, null where
// a series has no value.
import type { Series } from "../components/TimeSeriesChart";
import { toEpoch } from "./dates";

interface Dated {
  date: string;
}

interface Forecast extends Dated {
  predicted_sales: number;
  predicted_sales_low?: number;
  predicted_sales_high?: number;
}

/** ChartData is what TimeSeriesChart draws: band indexes [upper, lower] into series. */
export interface ChartData {
  x: number[];
  series: Series[];
  band?: [number, number];
  /** days of the coming forecast that have an interval */
  intervalDays: number;
}

/** chartSeries aligns history days, past forecasts and coming forecasts on one day axis. */
export function chartSeries(
  rows: Forecast[],
  history: { days: (Dated & { sales: number; open: number })[]; forecasts: (Dated & { predicted_sales: number })[] },
): ChartData {
  const days = new Set<string>();
  for (const d of history.days) days.add(d.date);
  for (const f of history.forecasts) days.add(f.date);
  for (const r of rows) days.add(r.date);
  const sorted = [...days].sort();
  const actual = new Map(history.days.map((d) => [d.date, d.open ? d.sales : null]));
  const past = new Map(history.forecasts.map((f) => [f.date, f.predicted_sales]));
  const future = new Map(rows.map((r) => [r.date, r]));
  const series: Series[] = [
    { label: "actual", color: "#2c6fbb", values: sorted.map((d) => actual.get(d) ?? null) },
    { label: "past forecasts", color: "#8a8a8a", values: sorted.map((d) => past.get(d) ?? null), dash: [4, 3] },
    { label: "forecast", color: "#d6604d", values: sorted.map((d) => future.get(d)?.predicted_sales ?? null) },
  ];
  const withInterval = rows.filter((r) => r.predicted_sales_low !== undefined && r.predicted_sales_high !== undefined);
  if (withInterval.length === 0) return { x: sorted.map(toEpoch), series, intervalDays: 0 };
  const edge = (d: string, k: "predicted_sales_low" | "predicted_sales_high") => future.get(d)?.[k] ?? null;
  series.push(
    { label: "interval high", color: "#d6604d", values: sorted.map((d) => edge(d, "predicted_sales_high")), hidden: true },
    { label: "interval low", color: "#d6604d", values: sorted.map((d) => edge(d, "predicted_sales_low")), hidden: true },
  );
  return { x: sorted.map(toEpoch), series, band: [3, 4], intervalDays: withInterval.length };
}
