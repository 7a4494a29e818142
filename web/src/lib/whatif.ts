// The what-if planner's data shaping: a plan of known inputs per day, the
// /v1/forecasts inputs it becomes, and the totals and uplift against the
// baseline (the API's defaults).
import { weekday } from "./dates";

/** DayPlan is what a manager may change for one coming day. */
export interface DayPlan {
  date: string;
  open: 0 | 1;
  promo: 0 | 1;
  schoolholiday: 0 | 1;
}

/** baselinePlan is the API's default for the days: open except Sundays, no promo, no school holiday. */
export function baselinePlan(days: string[]): DayPlan[] {
  return days.map((date) => ({ date, open: weekday(date) === 0 ? 0 : 1, promo: 0, schoolholiday: 0 }));
}

/** planInputs returns the /v1/forecasts inputs of the days that differ from the baseline. */
export function planInputs(storeId: number, plan: DayPlan[]) {
  const base = new Map(baselinePlan(plan.map((d) => d.date)).map((d) => [d.date, d]));
  return plan
    .filter((d) => {
      const b = base.get(d.date);
      return !b || b.open !== d.open || b.promo !== d.promo || b.schoolholiday !== d.schoolholiday;
    })
    .map((d) => ({ store_id: storeId, date: d.date, open: d.open, promo: d.promo, schoolholiday: d.schoolholiday }));
}

/** Uplift compares a scenario's total with the baseline's. */
export interface Uplift {
  baseline: number;
  scenario: number;
  delta: number;
  /** percent change; null when the baseline is 0 */
  percent: number | null;
}

/** uplift sums both series and returns the difference. */
export function uplift(baseline: { predicted_sales: number }[], scenario: { predicted_sales: number }[]): Uplift {
  const b = baseline.reduce((s, r) => s + r.predicted_sales, 0);
  const s = scenario.reduce((t, r) => t + r.predicted_sales, 0);
  return { baseline: b, scenario: s, delta: s - b, percent: b === 0 ? null : ((s - b) / b) * 100 };
}

/** toggle returns the plan with one field of one day flipped. */
export function toggle(plan: DayPlan[], date: string, field: "open" | "promo" | "schoolholiday"): DayPlan[] {
  return plan.map((d) => (d.date === date ? { ...d, [field]: d[field] === 1 ? 0 : 1 } : d));
}
