// Models: the served model, and the registered versions from MLflow with
// their aliases, metrics and training window; the served one is marked.
import { api, unwrap, type Schemas } from "../api/client";
import { ModelFacts } from "../components/ModelFacts";
import { Show } from "../components/Status";
import { useLoad } from "../components/useLoad";
import { num } from "../lib/format";

export default function Models() {
  const model = useLoad(async () => unwrap(await (await api()).forecast.GET("/model/info")), []);
  const versions = useLoad(async () => unwrap(await (await api()).forecast.GET("/v1/models", { params: { query: { limit: 50 } } })), []);
  return (
    <>
      <h1>Models</h1>
      <section className="card" aria-labelledby="served-h">
        <h2 id="served-h">Served</h2>
        <Show what={model}>{(m) => <ModelFacts m={m} testid="served-model" />}</Show>
      </section>
      <section className="card" aria-labelledby="versions-h">
        <h2 id="versions-h">Registered versions</h2>
        <Show what={versions}>
          {(v) => <Versions versions={v.versions} served={model.state === "ok" ? model.data : undefined} />}
        </Show>
      </section>
    </>
  );
}

const shownMetrics = ["val_rmspe", "val_mae", "best_rounds", "rows"];

function Versions({ versions, served }: { versions: Schemas["ModelVersion"][]; served?: Schemas["ModelInfo"] }) {
  if (versions.length === 0) return <p className="muted">No registered version yet.</p>;
  return (
    <div className="scroll" tabIndex={0}>
      <table data-testid="model-versions">
        <thead>
          <tr>
            <th scope="col">model</th>
            <th scope="col">version</th>
            <th scope="col">aliases</th>
            <th scope="col">trained through</th>
            {shownMetrics.map((m) => (
              <th key={m} scope="col" className="n">
                {m}
              </th>
            ))}
            <th scope="col">registered</th>
            <th scope="col">promotion</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => {
            const isServed = served?.name === v.name && served.version === v.version;
            return (
              <tr key={`${v.name}/${v.version}`} className={isServed ? "served" : undefined} data-served={isServed || undefined}>
                <td>{v.name}</td>
                <td>
                  {v.version}
                  {isServed && <strong> (served)</strong>}
                </td>
                <td>{v.aliases.join(", ") || "—"}</td>
                <td>{v.trained_through ?? "—"}</td>
                {shownMetrics.map((m) => (
                  <td key={m} className="n">
                    {num(v.metrics[m])}
                  </td>
                ))}
                <td>{new Date(v.created_at).toLocaleString()}</td>
                <td>{v.promotion ?? ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
