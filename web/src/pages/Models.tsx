// Models: the served model, and the registered versions from MLflow with
// their aliases, metrics and training window; the served one is marked.
// With the API token, a version can be promoted to champion, or the
// previous champion rolled back to: a promote request the trainer verifies
// and publishes on the models topic, followed here until it is answered.
import { useState } from "react";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { ModelFacts } from "../components/ModelFacts";
import { Show } from "../components/Status";
import { TokenField } from "../components/TokenField";
import { useLoad } from "../components/useLoad";
import { num } from "../lib/format";
import { actionFor, actionLabel, finished } from "../lib/promotion";

type Version = Schemas["ModelVersion"];

/** Promotion is the latest promote request of this page and what is known of it. */
interface Promotion {
  target: string;
  status?: Schemas["TrainStatus"];
  error?: string;
}

export default function Models() {
  const [reload, setReload] = useState(0);
  const [promotion, setPromotion] = useState<Promotion>();
  const model = useLoad(async () => unwrap(await (await api()).forecast.GET("/model/info")), [reload]);
  const versions = useLoad(
    async () => unwrap(await (await api()).forecast.GET("/v1/models", { params: { query: { limit: 50 } } })),
    [reload],
  );

  async function promote(v: Version) {
    const target = `${v.name} v${v.version}`;
    setPromotion({ target });
    try {
      const c = await api();
      const path = { name: v.name, version: v.version };
      const accepted = unwrap(await c.train.POST("/v1/models/{name}/versions/{version}/promote", { params: { path } }));
      let status: Schemas["TrainStatus"] | undefined;
      // Long-poll the request until the trainer answers it.
      while (!finished(status?.status)) {
        status = unwrap(
          await c.train.GET("/train/{id}", { params: { path: { id: accepted.request_id }, query: { wait: "30s" } } }),
        );
        setPromotion({ target, status });
      }
      setReload((n) => n + 1);
    } catch (err) {
      setPromotion({ target, error: err instanceof ApiError ? `${err.problem.status}: ${err.message}` : String(err) });
    }
  }

  return (
    <>
      <h1>Models</h1>
      <section className="card" aria-labelledby="served-h">
        <h2 id="served-h">Served</h2>
        <Show what={model}>{(m) => <ModelFacts m={m} testid="served-model" />}</Show>
      </section>
      <section className="card" aria-labelledby="versions-h">
        <h2 id="versions-h">Registered versions</h2>
        <p className="muted">
          Promote a version to champion, or roll back to the previous champion, with the API token. The trainer verifies the
          version as after training before serving switches to it.
        </p>
        <TokenField />
        <PromotionStatus p={promotion} />
        <Show what={versions}>
          {(v) => (
            <Versions
              versions={v.versions}
              served={model.state === "ok" ? model.data : undefined}
              busy={promotion !== undefined && !promotion.error && !finished(promotion.status?.status)}
              onPromote={(x) => void promote(x)}
            />
          )}
        </Show>
      </section>
    </>
  );
}

/** PromotionStatus shows the latest promote request: its status, or why it was refused. */
export function PromotionStatus({ p }: { p?: Promotion }) {
  if (!p) return null;
  if (p.error)
    return (
      <p className="error" role="alert" data-testid="promotion-status">
        Promotion of {p.target} refused: {p.error}
      </p>
    );
  const s = p.status;
  return (
    <p role="status" data-testid="promotion-status" data-status={s?.status ?? "pending"} className={s?.status === "failed" ? "error" : undefined}>
      Promotion of {p.target}: {s?.status ?? "pending"}
      {s?.reason ? ` (${s.reason})` : ""}
    </p>
  );
}

const shownMetrics = ["val_rmspe", "val_mae", "best_rounds", "rows"];

/** Versions lists the registered versions with the action each offers. */
export function Versions({
  versions,
  served,
  busy = false,
  onPromote,
}: {
  versions: Version[];
  served?: Schemas["ModelInfo"];
  busy?: boolean;
  onPromote?: (v: Version) => void;
}) {
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
            <th scope="col">champion</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => {
            const isServed = served?.name === v.name && served.version === v.version;
            const action = actionFor(v.aliases);
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
                <td>
                  {action === "champion" ? (
                    "champion"
                  ) : (
                    <button
                      type="button"
                      className={action === "rollback" ? "small" : "small secondary"}
                      disabled={busy || !onPromote}
                      aria-label={`${actionLabel(action, v.version)} of ${v.name}`}
                      onClick={() => onPromote?.(v)}
                    >
                      {actionLabel(action, v.version)}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
