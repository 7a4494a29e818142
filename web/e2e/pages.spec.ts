// Every page loads with real data, without console errors, with 0 serious or
// critical axe violations; STORECAST_SCREENSHOTS=dir keeps a screenshot of each.
import { expect, test } from "@playwright/test";
import { expectAccessible, forecastURL, watchConsole } from "./helpers";

const pages: { name: string; path: string; ready: string }[] = [
  { name: "overview", path: "/", ready: '[data-testid="pipeline"]' },
  { name: "store", path: "/stores/1", ready: '[data-testid="sales-chart"][data-ready="true"]' },
  { name: "predict", path: "/predict", ready: 'input#date[value$="-01"], input#date:not([value=""])' },
  { name: "models", path: "/models", ready: '[data-testid="model-versions"]' },
  { name: "training", path: "/training", ready: "#api-token" },
  { name: "topics", path: "/topics", ready: '[data-testid="topics"]' },
];

for (const p of pages) {
  test(`${p.name} page loads with data, no console errors, accessible`, async ({ page }) => {
    const errors = watchConsole(page);
    await page.goto(p.path);
    await expect(page.locator(p.ready).first()).toBeVisible();
    await expect(page.locator('[role="alert"]')).toHaveCount(0);
    await expectAccessible(page);
    expect(errors).toEqual([]);
    const dir = process.env.STORECAST_SCREENSHOTS;
    if (dir) await page.screenshot({ path: `${dir}/${p.name}.png`, fullPage: true });
  });
}

test("the store page for store 1 renders history and forecast in under 1 s", async ({ page, request }) => {
  // The forecasts the page draws: how many days carry an interval.
  const r = await request.post(`${forecastURL}/v1/forecasts`, { data: { store_ids: [1] } });
  expect(r.status()).toBe(200);
  const rows = ((await r.json()) as { forecasts: { predicted_sales_low?: number }[] }).forecasts;
  const withInterval = rows.filter((f) => f.predicted_sales_low !== undefined).length;
  await page.goto("/");
  await expect(page.locator('[data-testid="champion"]')).toBeVisible();
  const t0 = Date.now();
  await page.getByRole("link", { name: "Store", exact: true }).click();
  const chart = page.locator('[data-testid="sales-chart"][data-ready="true"]');
  await expect(chart).toBeVisible();
  const ms = Date.now() - t0;
  const history = Number(await chart.getAttribute("data-history"));
  const forecast = Number(await chart.getAttribute("data-forecast"));
  const band = Number(await chart.getAttribute("data-interval"));
  console.log(
    `store page (store 1): ${history} days of history + ${forecast} forecast days rendered in ${ms} ms (interval band on ${band} days)`,
  );
  expect(forecast).toBe(42);
  // The band covers every forecast day that has an interval (all of them when the model has intervals).
  expect(band).toBe(withInterval);
  expect(history).toBeGreaterThan(0);
  expect(ms).toBeLessThan(Number(process.env.STORECAST_STORE_PAGE_BUDGET_MS ?? 1000));
});
