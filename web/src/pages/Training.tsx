// Training: start a run with the session's token and follow the recent
// requests of this browser session.
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { TokenField } from "../components/TokenField";

const recentKey = "storecast.trainRequests";

function recent(): string[] {
  try {
    return JSON.parse(sessionStorage.getItem(recentKey) ?? "[]") as string[];
  } catch {
    return [];
  }
}

export default function Training() {
  const [storeId, setStoreId] = useState("");
  const [ids, setIds] = useState<string[]>(recent);
  const [statuses, setStatuses] = useState<Record<string, Schemas["TrainStatus"]>>({});
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    const poll = async () => {
      const c = await api();
      for (const id of ids) {
        const r = await c.train.GET("/train/{id}", { params: { path: { id } } });
        if (live && r.data) setStatuses((s) => ({ ...s, [id]: r.data }));
      }
    };
    void poll();
    const t = setInterval(() => void poll(), 3000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [ids]);

  async function start(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    try {
      const c = await api();
      const body: Schemas["TrainRequest"] = storeId ? { store_id: Number(storeId) } : {};
      const a = unwrap(await c.train.POST("/train", { body }));
      const next = [a.request_id, ...ids].slice(0, 20);
      sessionStorage.setItem(recentKey, JSON.stringify(next));
      setIds(next);
    } catch (err) {
      setError(err instanceof ApiError ? `${err.problem.status}: ${err.message}` : String(err));
    }
  }

  return (
    <>
      <h1>Training</h1>
      <TokenField />
      <form className="inline-form" onSubmit={start}>
        <label htmlFor="train-store">Store (empty: the chain)</label>
        <input id="train-store" type="number" min={1} value={storeId} onChange={(e) => setStoreId(e.target.value)} />
        <button type="submit">Start training</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <section className="card" aria-labelledby="recent-h">
        <h2 id="recent-h">Requests of this session</h2>
        <div className="scroll" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">request</th>
                <th scope="col">status</th>
                <th scope="col">model</th>
                <th scope="col">rows</th>
                <th scope="col">reason</th>
              </tr>
            </thead>
            <tbody>
              {ids.map((id) => {
                const s = statuses[id];
                return (
                  <tr key={id}>
                    <td>{id}</td>
                    <td>{s?.status ?? "…"}</td>
                    <td>{s?.model_version ? `${s.model_name ?? ""} v${s.model_version}` : "—"}</td>
                    <td className="n">{s?.rows ?? "—"}</td>
                    <td>{s?.reason ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
