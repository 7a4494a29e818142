// Overview: the champion, readiness, and (with the dashboard endpoints) the
// pipeline at a glance.
import { api, unwrap } from "../api/client";
import { Show } from "../components/Status";
import { useLoad } from "../components/useLoad";
import { ModelFacts } from "../components/ModelFacts";

export default function Overview() {
  const model = useLoad(async () => unwrap(await (await api()).forecast.GET("/model/info")), []);
  const ready = useLoad(async () => {
    const r = await (await api()).forecast.GET("/ready");
    return r.data ?? (r.error as { checks?: { name: string; ok: boolean; detail?: string }[] } | undefined) ?? { checks: [] };
  }, []);
  return (
    <>
      <h1>Overview</h1>
      <div className="columns">
        <section className="card" aria-labelledby="champion-h">
          <h2 id="champion-h">Champion</h2>
          <Show what={model}>
            {(m) => <ModelFacts m={m} testid="champion" />}
          </Show>
        </section>
        <section className="card" aria-labelledby="ready-h">
          <h2 id="ready-h">Forecast API readiness</h2>
          <Show what={ready}>
            {(r) => (
              <ul className="checks">
                {(r.checks ?? []).map((c) => (
                  <li key={c.name} className={c.ok ? "ok" : "bad"}>
                    {c.name}: {c.ok ? "ok" : c.detail}
                  </li>
                ))}
              </ul>
            )}
          </Show>
        </section>
      </div>
    </>
  );
}
