// Store: a store's info, its current feature values, its daily sales with
// the six-week forecast, and the what-if planner for the coming days.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { Show } from "../components/Status";
import { TimeSeriesChart } from "../components/TimeSeriesChart";
import { useLoad } from "../components/useLoad";
import { addDays, weekdayName } from "../lib/dates";
import { feature, num, sales, signed } from "../lib/format";
import { chartSeries } from "../lib/series";
import { baselinePlan, planInputs, toggle, uplift, type DayPlan } from "../lib/whatif";

type Row = Schemas["ForecastRow"];

export default function Store() {
  const params = useParams();
  const navigate = useNavigate();
  const id = Number(params.id ?? "1");

  const summary = useLoad(async () => {
    const c = await api();
    return unwrap(await c.forecast.GET("/v1/stores/{id}", { params: { path: { id } } }));
  }, [id]);
  const baseline = useLoad(async () => {
    const c = await api();
    return unwrap(await c.forecast.POST("/v1/forecasts", { body: { store_ids: [id] } }));
  }, [id]);
  const history = useLoad(async () => {
    const c = await api();
    return unwrap(await c.forecast.GET("/v1/sales/{id}", { params: { path: { id } } }));
  }, [id]);

  return (
    <>
      <h1>Store {id}</h1>
      <StorePicker id={id} onPick={(n) => navigate(`/stores/${n}`)} />
      <div className="columns">
        <section className="card" aria-labelledby="info-h">
          <h2 id="info-h">Store info</h2>
          <Show what={summary}>{(s) => <StoreInfo s={s} />}</Show>
        </section>
        <section className="card" aria-labelledby="features-h">
          <h2 id="features-h">Current features</h2>
          <Show what={baseline}>{(b) => <Features id={id} day={addDays(b.as_of, 1)} />}</Show>
        </section>
      </div>
      <section className="card" aria-labelledby="chart-h">
        <h2 id="chart-h">Sales and six-week forecast</h2>
        <Show what={baseline}>{(b) => <Show what={history}>{(h) => <SalesChart rows={b.forecasts} history={h} />}</Show>}</Show>
      </section>
      <Show what={baseline}>{(b) => <WhatIf id={id} baseline={b} />}</Show>
    </>
  );
}

function StorePicker({ id, onPick }: { id: number; onPick: (id: number) => void }) {
  const [pick, setPick] = useState(String(id));
  const [type, setType] = useState("");
  const [assortment, setAssortment] = useState("");
  // The list loads on first use: the page's first paint does not wait for it.
  const [wanted, setWanted] = useState(false);
  useEffect(() => setPick(String(id)), [id]);
  const list = useLoad(async () => {
    if (!wanted) return { stores: [] };
    const q: { type?: "a" | "b" | "c" | "d"; assortment?: "a" | "b" | "c" } = {};
    if (type) q.type = type as "a" | "b" | "c" | "d";
    if (assortment) q.assortment = assortment as "a" | "b" | "c";
    return unwrap(await (await api()).forecast.GET("/v1/stores", { params: { query: q } }));
  }, [type, assortment, wanted]);
  return (
    <form
      onFocus={() => setWanted(true)}
      onPointerEnter={() => setWanted(true)}
      className="inline-form"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        if (Number(pick) >= 1) onPick(Number(pick));
      }}
    >
      <label htmlFor="store-pick">Store id</label>
      <input id="store-pick" type="number" min={1} value={pick} onChange={(e) => setPick(e.target.value)} />
      <button type="submit">Show</button>
      <label htmlFor="store-type">Type</label>
      <select id="store-type" value={type} onChange={(e) => {
          setWanted(true);
          setType(e.target.value);
        }}>
        <option value="">any</option>
        {["a", "b", "c", "d"].map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <label htmlFor="store-assortment">Assortment</label>
      <select id="store-assortment" value={assortment} onChange={(e) => {
          setWanted(true);
          setAssortment(e.target.value);
        }}>
        <option value="">any</option>
        {["a", "b", "c"].map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <label htmlFor="store-list">Stores</label>
      <select id="store-list" value="" onChange={(e) => e.target.value && onPick(Number(e.target.value))} data-testid="store-list">
        <option value="">{list.state === "ok" && wanted ? `${list.data.stores.length} stores…` : "choose…"}</option>
        {list.state === "ok" &&
          list.data.stores.map((s) => (
            <option key={s.store_id} value={s.store_id}>
              {s.store_id} (type {s.store_type}, assortment {s.assortment})
            </option>
          ))}
      </select>
    </form>
  );
}

function StoreInfo({ s }: { s: Schemas["StoreSummary"] }) {
  const i = s.store_info;
  return (
    <dl className="facts" data-testid="store-info">
      <dt>Type</dt>
      <dd>{i.store_type}</dd>
      <dt>Assortment</dt>
      <dd>{i.assortment}</dd>
      <dt>Competition</dt>
      <dd>{i.competition_distance == null ? "—" : `${num(i.competition_distance)} m`}</dd>
      <dt>Promo2</dt>
      <dd>{i.promo2 ? `yes${i.promo_interval ? ` (${i.promo_interval})` : ""}` : "no"}</dd>
      <dt>Days held</dt>
      <dd>{s.days_held}</dd>
      <dt>History</dt>
      <dd>
        {s.first_day ?? "—"} … {s.latest_day ?? "—"}
      </dd>
    </dl>
  );
}

function Features({ id, day }: { id: number; day: string }) {
  const f = useLoad(async () => {
    const c = await api();
    return unwrap(await c.forecast.GET("/v1/stores/{id}/features", { params: { path: { id }, query: { date: day } } }));
  }, [id, day]);
  return (
    <Show what={f}>
      {(v) => (
        <div className="scroll" tabIndex={0}>
          <table>
            <caption>
              for {v.date} as of {v.as_of}
            </caption>
            <thead>
              <tr>
                <th scope="col">feature</th>
                <th scope="col">value</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(v.features).map(([k, x]) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td className="n">{feature(x)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Show>
  );
}

function SalesChart({ rows, history }: { rows: Row[]; history: Schemas["StoreSales"] }) {
  const data = useMemo(() => chartSeries(rows, history), [rows, history]);
  return (
    <>
      <TimeSeriesChart
        title={`Daily sales: ${history.days.length} days of history and a ${rows.length}-day forecast${data.intervalDays ? " with its prediction interval" : ""}`}
        x={data.x}
        series={data.series}
        band={data.band}
        data={{ testid: "sales-chart", history: history.days.length, forecast: rows.length, interval: data.intervalDays }}
      />
      <p className="muted legend">
        <span className="swatch actual" /> actual sales <span className="swatch past" /> past forecasts <span className="swatch future" /> forecast
        {data.intervalDays > 0 && (
          <>
            <span className="swatch band" /> prediction interval
          </>
        )}
      </p>
    </>
  );
}

function WhatIf({ id, baseline }: { id: number; baseline: Schemas["ForecastsResponse"] }) {
  const days = useMemo(() => baseline.forecasts.map((r) => r.date), [baseline]);
  const [plan, setPlan] = useState<DayPlan[]>(() => baselinePlan(days));
  useEffect(() => setPlan(baselinePlan(days)), [days]);
  const inputs = useMemo(() => planInputs(id, plan), [id, plan]);
  const scenario = useLoad(async () => {
    if (inputs.length === 0) return baseline;
    const c = await api();
    return unwrap(await c.forecast.POST("/v1/forecasts", { body: { store_ids: [id], inputs } }));
  }, [id, JSON.stringify(inputs)]);
  const flip = (date: string, field: "open" | "promo" | "schoolholiday") => setPlan((p) => toggle(p, date, field));

  return (
    <section className="card" aria-labelledby="whatif-h">
      <h2 id="whatif-h">What if</h2>
      <p className="muted">Change the known inputs of the coming days; the forecast and the six-week total follow.</p>
      <Show what={scenario}>
        {(s) => {
          const u = uplift(baseline.forecasts, s.forecasts);
          const byDate = new Map(s.forecasts.map((r) => [r.date, r]));
          return (
            <>
              <dl className="facts totals" aria-live="polite">
                <dt>Baseline total</dt>
                <dd data-testid="baseline-total">{sales(u.baseline)}</dd>
                <dt>Scenario total</dt>
                <dd data-testid="scenario-total">{sales(u.scenario)}</dd>
                <dt>Uplift</dt>
                <dd data-testid="uplift" data-value={u.delta}>
                  {signed(u.delta)} {u.percent === null ? "" : `(${u.percent >= 0 ? "+" : ""}${u.percent.toFixed(1)} %)`}
                </dd>
              </dl>
              <div className="scroll" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">day</th>
                      <th scope="col">open</th>
                      <th scope="col">promo</th>
                      <th scope="col">school holiday</th>
                      <th scope="col">baseline</th>
                      <th scope="col">scenario</th>
                    </tr>
                  </thead>
                  <tbody>
                    {plan.map((d, i) => (
                      <tr key={d.date}>
                        <td>
                          {weekdayName(d.date)} {d.date}
                        </td>
                        {(["open", "promo", "schoolholiday"] as const).map((f) => (
                          <td key={f}>
                            <input
                              type="checkbox"
                              aria-label={`${f} on ${d.date}`}
                              checked={d[f] === 1}
                              onChange={() => flip(d.date, f)}
                            />
                          </td>
                        ))}
                        <td className="n">{sales(baseline.forecasts[i]?.predicted_sales ?? 0)}</td>
                        <td className="n">{sales(byDate.get(d.date)?.predicted_sales ?? 0)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}
