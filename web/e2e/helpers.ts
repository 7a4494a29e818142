import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/** forecastURL is the forecast API the dashboard under test talks to. */
export const forecastURL = process.env.STORECAST_FORECAST_URL ?? "http://127.0.0.1:4242";

/** watchConsole collects console errors and page errors of a page. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

/** expectAccessible fails on any serious or critical axe violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes)`)).toEqual([]);
}
