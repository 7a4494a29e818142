// Number formatting for people.

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4, useGrouping: false });
const small = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 });

/** sales formats an amount of sales without decimals. */
export function sales(n: number): string {
  return int.format(n);
}

/** num formats a number with up to two decimals, or four significant digits below 1 (an RMSPE of
 * 0.0983 or a parity difference of 0.000003109 must not read 0.1 or 0); null and undefined
 * become "—". */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return Math.abs(n) < 1 ? small.format(n) : dec.format(n);
}

/** feature formats a feature value as the model reads it: no grouping (a year reads 2015, not
 * 2,015), up to four decimals; null and undefined become "—". */
export function feature(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return plain.format(n);
}

/** signed formats a change with its sign. */
export function signed(n: number): string {
  return `${n >= 0 ? "+" : "−"}${int.format(Math.abs(n))}`;
}

/** bytes formats a size in bytes. */
export function bytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
