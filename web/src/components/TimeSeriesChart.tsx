// A daily time-series chart (uPlot): lines per series, an optional band
// between two series (a forecast's interval), responsive to its box's width.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  dash?: number[];
  /** draws no line: the lower or upper edge of a band */
  hidden?: boolean;
}

export interface Props {
  /** x values, seconds since the epoch */
  x: number[];
  series: Series[];
  /** indexes into series of [upper, lower] filled as a band */
  band?: [number, number];
  height?: number;
  title: string;
  /** extra attributes of the chart's box (test ids, counts) */
  data?: Record<string, string | number>;
}

/** TimeSeriesChart draws series over days; its accessible name is title. */
export function TimeSeriesChart({ x, series, band, height = 320, title, data }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 280),
      height,
      scales: { x: { time: true } },
      axes: [{}, { size: 60 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.hidden ? "transparent" : s.color,
          width: s.hidden ? 0 : 1.5,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: false },
        })),
      ],
      ...(band ? { bands: [{ series: [band[0] + 1, band[1] + 1] as [number, number], fill: "rgba(214,96,77,0.18)" }] } : {}),
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    el.dataset.ready = "true";
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 280), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
      delete el.dataset.ready;
    };
  }, [x, series, band, height]);
  const attrs = Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k.startsWith("data-") ? k : `data-${k}`, String(v)]));
  return <div ref={box} className="chart" role="img" aria-label={title} {...attrs} />;
}
