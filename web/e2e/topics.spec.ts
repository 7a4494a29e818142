// The Topics page against the real broker: the sales topic with its record
// count (STORECAST_E2E_SALES_RECORDS, when known), its latest records
// decoded, and a dead letter's reason (STORECAST_E2E_EXPECT_DLQ=1, when
// the run put one there).
import { expect, test } from "@playwright/test";

test("the topics page shows the sales topic, its records and dead letters", async ({ page }) => {
  await page.goto("/topics");
  const row = page.locator('tr[data-topic^="sale_rossman_store"]:not([data-topic*=".dlq"])').first();
  await expect(row).toBeVisible();
  const records = Number(await row.getAttribute("data-records"));
  const want = process.env.STORECAST_E2E_SALES_RECORDS;
  if (want) expect(records).toBe(Number(want));
  else expect(records).toBeGreaterThan(0);
  console.log(`topics page: ${await row.getAttribute("data-topic")} holds ${records} records`);

  await row.getByRole("button", { name: /Browse/ }).click();
  const msgs = page.getByTestId("messages");
  await expect(msgs).toBeVisible();
  await expect(msgs.locator("tbody tr").first()).toContainText('"store"');

  if (process.env.STORECAST_E2E_EXPECT_DLQ === "1") {
    await page.getByRole("button", { name: /Show sale_rossman_store\.dlq/ }).click();
    const reason = page.getByTestId("dlq-reason").first();
    await expect(reason).not.toBeEmpty();
    console.log(`topics page: dead letter reason "${await reason.textContent()}"`);
  }
});
