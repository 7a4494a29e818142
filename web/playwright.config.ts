// Playwright end-to-end tests of the dashboard against a running
// `storecast serve` (STORECAST_WEB_URL), in Debian's chromium: Playwright
// never downloads a browser here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: process.env.STORECAST_WEB_URL ?? "http://127.0.0.1:8000",
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: process.env.STORECAST_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    },
  },
});
