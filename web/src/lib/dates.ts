// Calendar days as ISO strings (YYYY-MM-DD), computed in UTC.

const day = 86_400_000;

/** addDays returns the ISO day n days after iso. */
export function addDays(iso: string, n: number): string {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + n * day).toISOString().slice(0, 10);
}

/** weekday returns 0 (Sunday) .. 6 (Saturday). */
export function weekday(iso: string): number {
  return new Date(`${iso}T00:00:00Z`).getUTCDay();
}

/** toEpoch returns seconds since the epoch at midnight UTC (uPlot's x unit). */
export function toEpoch(iso: string): number {
  return Date.parse(`${iso}T00:00:00Z`) / 1000;
}

/** weekdayName is the short English name of an ISO day's weekday. */
export function weekdayName(iso: string): string {
  return ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][weekday(iso)] ?? "";
}
