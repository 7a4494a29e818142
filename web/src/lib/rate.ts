// Events per second between two samples of a topic's total offsets.

/** Sample is the sum of a topic's newest offsets at a time (ms). */
export interface Sample {
  at: number;
  records: number;
}

/** eventsPerSecond is the rate between two samples; 0 when no time passed. */
export function eventsPerSecond(a: Sample, b: Sample): number {
  const dt = (b.at - a.at) / 1000;
  return dt <= 0 ? 0 : Math.max(b.records - a.records, 0) / dt;
}
