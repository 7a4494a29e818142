// Overview: the champion, readiness, and the pipeline at a glance: events
// in per second, each consumer group's lag, dead letters by reason, the
// latest sale.
import { useEffect, useRef, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { ModelFacts } from "../components/ModelFacts";
import { Show } from "../components/Status";
import { useLoad } from "../components/useLoad";
import { sales } from "../lib/format";
import { eventsPerSecond } from "../lib/rate";

export default function Overview() {
  const model = useLoad(async () => unwrap(await (await api()).forecast.GET("/model/info")), []);
  const ready = useLoad(async () => {
    const r = await (await api()).forecast.GET("/ready");
    return r.data ?? (r.error as Schemas["Readiness"] | undefined) ?? { status: "not_ready", checks: [] };
  }, []);
  return (
    <>
      <h1>Overview</h1>
      <div className="columns">
        <section className="card" aria-labelledby="champion-h">
          <h2 id="champion-h">Champion</h2>
          <Show what={model}>{(m) => <ModelFacts m={m} testid="champion" />}</Show>
        </section>
        <section className="card" aria-labelledby="ready-h">
          <h2 id="ready-h">Forecast API readiness</h2>
          <Show what={ready}>
            {(r) => (
              <ul className="checks">
                {r.checks.map((c) => (
                  <li key={c.name} className={c.ok ? "ok" : "bad"}>
                    {c.name}: {c.ok ? "ok" : c.detail}
                  </li>
                ))}
              </ul>
            )}
          </Show>
        </section>
      </div>
      <Pipeline />
      <Accuracy />
    </>
  );
}

function Accuracy() {
  const acc = useLoad(async () => unwrap(await (await api()).forecast.GET("/v1/accuracy", { params: { query: { days: 28 } } })), []);
  return (
    <section className="card" aria-labelledby="acc-h">
      <h2 id="acc-h">Recent forecast accuracy</h2>
      {acc.state === "error" ? (
        // Optional: the sink's forecast_accuracy view may not exist yet.
        <p className="muted">Accuracy is unavailable: {acc.error.message}</p>
      ) : (
      <Show what={acc}>
        {(a) =>
          a.accuracy.length === 0 ? (
            <p className="muted">No served forecast has an actual yet: accuracy appears when sales arrive for forecast days.</p>
          ) : (
            <div className="scroll" tabIndex={0}>
              <table data-testid="accuracy">
                <caption>
                  Last 28 days with actuals ({a.accuracy[0]?.first_day} … {a.accuracy[a.accuracy.length - 1]?.last_day})
                </caption>
                <thead>
                  <tr>
                    <th scope="col">model version</th>
                    <th scope="col" className="n">horizon week</th>
                    <th scope="col" className="n">forecasts</th>
                    <th scope="col" className="n">RMSPE</th>
                    <th scope="col" className="n">MAPE</th>
                    <th scope="col" className="n">bias</th>
                  </tr>
                </thead>
                <tbody>
                  {a.accuracy.map((x) => (
                    <tr key={`${x.model_version}/${x.horizon_week}`}>
                      <td>{x.model_version}</td>
                      <td className="n">{x.horizon_week}</td>
                      <td className="n">{sales(x.forecasts)}</td>
                      <td className="n">{(x.rmspe * 100).toFixed(1)} %</td>
                      <td className="n">{(x.mape * 100).toFixed(1)} %</td>
                      <td className="n">{(x.bias * 100).toFixed(1)} %</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
      )}
    </section>
  );
}

function Pipeline() {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);
  const pipe = useLoad(async () => {
    const c = await api();
    const [t, g, d] = await Promise.all([c.forecast.GET("/v1/topics"), c.forecast.GET("/v1/groups"), c.forecast.GET("/v1/dead-letters")]);
    const topics = unwrap(t).topics;
    const sale = topics.find((x) => !x.dead_letter && x.name.startsWith("sale_rossman_store"));
    let latest: Schemas["Message"] | undefined;
    if (sale) {
      const m = unwrap(await c.forecast.GET("/v1/topics/{name}/messages", { params: { path: { name: sale.name }, query: { limit: 1 } } }));
      latest = m.messages[0];
    }
    return { at: Date.now(), topics, groups: unwrap(g).groups, deadLetters: unwrap(d).dead_letters, sale, latest };
  }, [tick]);
  const prev = useRef<{ at: number; records: number }>(undefined);
  const [rate, setRate] = useState<number | null>(null);
  useEffect(() => {
    if (pipe.state !== "ok" || !pipe.data.sale) return;
    const now = { at: pipe.data.at, records: pipe.data.sale.partitions.reduce((s, p) => s + p.newest, 0) };
    if (prev.current) setRate(eventsPerSecond(prev.current, now));
    prev.current = now;
  }, [pipe]);

  return (
    <Show what={pipe}>
      {(p) => (
        <div className="columns">
          <section className="card" aria-labelledby="events-h">
            <h2 id="events-h">Events in</h2>
            <dl className="facts" data-testid="pipeline">
              <dt>Sales events</dt>
              <dd>{p.sale ? sales(p.sale.records) : "—"}</dd>
              <dt>Per second</dt>
              <dd>{rate === null ? "measuring…" : rate.toFixed(1)}</dd>
              <dt>Latest sale</dt>
              <dd>{p.latest ? `${latestDay(p.latest)} (sent ${new Date(p.latest.timestamp).toLocaleString()})` : "—"}</dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="lag-h">
            <h2 id="lag-h">Consumer lag</h2>
            <ul className="checks">
              {p.groups.map((g) => (
                <li key={g.name} className={g.lag === 0 ? "ok" : "bad"}>
                  {g.name}: {sales(g.lag)} behind ({g.state})
                </li>
              ))}
              {p.groups.length === 0 && <li className="muted">no committed group yet</li>}
            </ul>
          </section>
          <section className="card" aria-labelledby="dl-h">
            <h2 id="dl-h">Dead letters</h2>
            <ul className="checks">
              {p.deadLetters.map((d) => (
                <li key={d.topic} className={d.total === 0 ? "ok" : "bad"}>
                  {d.topic}: {sales(d.total)}
                  {Object.entries(d.reasons).map(([r, n]) => ` · ${r} (${n})`)}
                </li>
              ))}
            </ul>
          </section>
        </div>
      )}
    </Show>
  );
}

function latestDay(m: Schemas["Message"]): string {
  const v = m.value as { date?: unknown } | undefined;
  return typeof v?.date === "string" ? v.date : `offset ${m.offset}`;
}
