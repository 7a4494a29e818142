// The forms against the real API: the prediction form answers what the API
// answers, a what-if toggle moves the forecast and the uplift, a bad input
// shows the field's error, and a wrong token is refused.
import { expect, test } from "@playwright/test";
import { forecastURL, watchConsole } from "./helpers";

test("the prediction form shows the API's answer for the same input", async ({ page, request }) => {
  const errors = watchConsole(page);
  await page.goto("/predict");
  const date = page.locator("#date");
  await expect(date).not.toHaveValue("");
  await page.locator("#store_id").fill("2");
  await page.locator("#promo").selectOption("1");
  await page.locator("#schoolholiday").selectOption("1");
  await page.getByRole("button", { name: "Predict" }).click();
  const shown = page.getByTestId("predicted-sales");
  await expect(shown).toBeVisible();
  const body = { store_id: 2, date: await date.inputValue(), promo: 1, stateholiday: "0", schoolholiday: 1, open: 1 };
  const api = await request.post(`${forecastURL}/predict`, { data: body });
  expect(api.status()).toBe(200);
  const want = (await api.json()) as { predicted_sales: number; model_version: string; horizon: number };
  expect(Number(await shown.getAttribute("data-value"))).toBe(want.predicted_sales);
  await expect(page.getByTestId("model-version")).toContainText(`v${want.model_version}`);
  await expect(page.getByTestId("horizon")).toHaveText(`${want.horizon} days`);
  expect(errors).toEqual([]);
});

test("a bad input shows the error next to the field the API names", async ({ page }) => {
  await page.goto("/predict");
  await expect(page.locator("#date")).not.toHaveValue("");
  await page.locator("#date").fill("2030-01-01");
  await page.getByRole("button", { name: "Predict" }).click();
  const err = page.locator("#date-error");
  await expect(err).toBeVisible();
  await expect(err).toContainText("date");
  await expect(page.locator("#date")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("predicted-sales")).toHaveCount(0);
});

test("a what-if promo toggle changes the forecast and the uplift", async ({ page }) => {
  await page.goto("/stores/1");
  const uplift = page.getByTestId("uplift");
  await expect(uplift).toHaveAttribute("data-value", "0");
  const scenario = page.getByTestId("scenario-total");
  const before = await scenario.textContent();
  // the first weekday row: promo on
  const promo = page.getByRole("checkbox", { name: /^promo on / }).nth(2);
  await promo.check();
  await expect(uplift).not.toHaveAttribute("data-value", "0");
  await expect(scenario).not.toHaveText(before ?? "");
  expect(Number(await uplift.getAttribute("data-value"))).toBeGreaterThan(0);
  await promo.uncheck();
  await expect(uplift).toHaveAttribute("data-value", "0");
});

test("training with a wrong token is refused", async ({ page }) => {
  await page.goto("/training");
  await page.locator("#api-token").fill("not-the-token");
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByRole("button", { name: "Start training" }).click();
  await expect(page.getByRole("alert")).toContainText("401");
});

test("the store picker searches by type and assortment", async ({ page }) => {
  await page.goto("/stores/1");
  await page.locator("#store-type").selectOption("b");
  const list = page.getByTestId("store-list");
  await expect(list.locator("option").nth(1)).toContainText("type b");
  const value = await list.locator("option").nth(1).getAttribute("value");
  await list.selectOption(value ?? "");
  await expect(page).toHaveURL(new RegExp(`/stores/${value}$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Store ${value}`);
});
