// The forecast as-of day, asked once per page load from /v1/forecasts (its
// answer names it).
import { api, unwrap } from "../api/client";

let asOf: Promise<string> | undefined;

/** forecastAsOf returns the as-of day of the forecasts the API serves now. */
export function forecastAsOf(): Promise<string> {
  asOf ??= api()
    .then(async (c) => unwrap(await c.forecast.POST("/v1/forecasts", { body: { store_ids: [1] } })).as_of)
    .catch((e: unknown) => {
      asOf = undefined;
      throw e;
    });
  return asOf;
}
