// Number formatting for people.

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** sales formats an amount of sales without decimals. */
export function sales(n: number): string {
  return int.format(n);
}

/** num formats a number with up to two decimals; null and undefined become "—". */
export function num(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? "—" : dec.format(n);
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
