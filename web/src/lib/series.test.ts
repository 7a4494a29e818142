import { describe, expect, it } from "vitest";
import { chartSeries } from "./series";

describe("chartSeries", () => {
  const history = {
    days: [
      { date: "2015-06-18", sales: 5200, open: 1 },
      { date: "2015-06-19", sales: 0, open: 0 },
    ],
    forecasts: [{ date: "2015-06-18", predicted_sales: 5100 }],
  };
  const rows = [
    { date: "2015-06-20", predicted_sales: 6000 },
    { date: "2015-06-21", predicted_sales: 0 },
  ];
  const got = chartSeries(rows, history);
  it("puts every day on one sorted axis", () => expect(got.x).toHaveLength(4));
  it("leaves closed days out of the actual line", () => expect(got.series[0]?.values).toEqual([5200, null, null, null]));
  it("places past forecasts on their days", () => expect(got.series[1]?.values).toEqual([5100, null, null, null]));
  it("places the coming forecast after the history", () => expect(got.series[2]?.values).toEqual([null, null, 6000, 0]));
  it("handles an empty history", () => expect(chartSeries(rows, { days: [], forecasts: [] }).x).toHaveLength(2));
  it("draws no band without intervals", () => {
    expect(got.band).toBeUndefined();
    expect(got.series).toHaveLength(3);
    expect(got.intervalDays).toBe(0);
  });
});

describe("chartSeries with intervals", () => {
  const rows = [
    { date: "2015-06-20", predicted_sales: 6000, predicted_sales_low: 5200, predicted_sales_high: 7100 },
    { date: "2015-06-21", predicted_sales: 0, predicted_sales_low: 0, predicted_sales_high: 0 },
  ];
  const got = chartSeries(rows, { days: [{ date: "2015-06-19", sales: 5000, open: 1 }], forecasts: [] });
  it("bands the forecast between its high and low edges", () => {
    expect(got.band).toEqual([3, 4]);
    expect(got.series[3]?.label).toBe("interval high");
    expect(got.series[3]?.values).toEqual([null, 7100, 0]);
    expect(got.series[4]?.values).toEqual([null, 5200, 0]);
  });
  it("draws the edges as no line of their own", () => expect(got.series.slice(3).every((s) => s.hidden)).toBe(true));
  it("counts the days with an interval", () => expect(got.intervalDays).toBe(2));
});

import { eventsPerSecond } from "./rate";

describe("eventsPerSecond", () => {
  const cases = [
    { name: "steady", a: { at: 0, records: 0 }, b: { at: 2000, records: 100 }, want: 50 },
    { name: "no time passed", a: { at: 5, records: 0 }, b: { at: 5, records: 10 }, want: 0 },
    { name: "a recreated topic never goes negative", a: { at: 0, records: 100 }, b: { at: 1000, records: 0 }, want: 0 },
  ];
  for (const c of cases) it(c.name, () => expect(eventsPerSecond(c.a, c.b)).toBe(c.want));
});
