// The facts of a served model: name, version, training window, metrics.
import type { Schemas } from "../api/client";
import { num } from "../lib/format";

/** ModelFacts lists a model's identity and validation metrics. */
export function ModelFacts({ m, testid }: { m: Schemas["ModelInfo"]; testid: string }) {
  return (
    <dl className="facts" data-testid={testid}>
      <dt>Model</dt>
      <dd>
        {m.name} v{m.version}
      </dd>
      <dt>Trained through</dt>
      <dd>{m.trained_through ?? "—"}</dd>
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
      <dt>Loaded</dt>
      <dd>{new Date(m.loaded_at).toLocaleString()}</dd>
    </dl>
  );
}
