import { describe, expect, it } from "vitest";
import { baselinePlan, planInputs, toggle, uplift } from "./whatif";
import { addDays, weekday } from "./dates";

describe("baselinePlan", () => {
  it("closes Sundays and opens the other days", () => {
    const days = ["2015-06-20", "2015-06-21", "2015-06-22"]; // Sat, Sun, Mon
    expect(baselinePlan(days).map((d) => d.open)).toEqual([1, 0, 1]);
  });
});

describe("planInputs", () => {
  const days = ["2015-06-20", "2015-06-21", "2015-06-22"];
  const cases: { name: string; plan: ReturnType<typeof baselinePlan>; want: number }[] = [
    { name: "baseline sends nothing", plan: baselinePlan(days), want: 0 },
    { name: "one promo day sends one input", plan: toggle(baselinePlan(days), "2015-06-22", "promo"), want: 1 },
    { name: "opening a Sunday sends it", plan: toggle(baselinePlan(days), "2015-06-21", "open"), want: 1 },
    {
      name: "toggling twice is the baseline again",
      plan: toggle(toggle(baselinePlan(days), "2015-06-22", "promo"), "2015-06-22", "promo"),
      want: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planInputs(7, c.plan);
      expect(got).toHaveLength(c.want);
      for (const i of got) expect(i.store_id).toBe(7);
    });
  }
});

describe("uplift", () => {
  const cases = [
    { name: "no change", b: [100, 200], s: [100, 200], delta: 0, percent: 0 },
    { name: "ten percent up", b: [100, 100], s: [110, 110], delta: 20, percent: 10 },
    { name: "zero baseline has no percent", b: [0], s: [50], delta: 50, percent: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const u = uplift(
        c.b.map((predicted_sales) => ({ predicted_sales })),
        c.s.map((predicted_sales) => ({ predicted_sales })),
      );
      expect(u.delta).toBeCloseTo(c.delta);
      if (c.percent === null) expect(u.percent).toBeNull();
      else expect(u.percent).toBeCloseTo(c.percent);
    });
  }
});

describe("dates", () => {
  it("adds days across a month end", () => expect(addDays("2015-06-30", 1)).toBe("2015-07-01"));
  it("knows Sundays", () => expect(weekday("2015-06-21")).toBe(0));
});
