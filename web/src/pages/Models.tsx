// Models: the served model (the registry's versions come with the models endpoint).
import { api, unwrap } from "../api/client";
import { Show } from "../components/Status";
import { useLoad } from "../components/useLoad";
import { num } from "../lib/format";

export default function Models() {
  const model = useLoad(async () => unwrap(await (await api()).forecast.GET("/model/info")), []);
  return (
    <>
      <h1>Models</h1>
      <section className="card" aria-labelledby="served-h">
        <h2 id="served-h">Served</h2>
        <Show what={model}>
          {(m) => (
            <dl className="facts" data-testid="served-model">
              <dt>Name</dt>
              <dd>{m.name}</dd>
              <dt>Version</dt>
              <dd>{m.version}</dd>
              <dt>Format</dt>
              <dd>{m.format}</dd>
              <dt>Features</dt>
              <dd>{m.feature_names.length}</dd>
              {Object.entries(m.metrics ?? {}).map(([k, v]) => (
                <div key={k} className="pair">
                  <dt>{k}</dt>
                  <dd>{num(v)}</dd>
                </div>
              ))}
            </dl>
          )}
        </Show>
      </section>
    </>
  );
}
