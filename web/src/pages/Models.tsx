// Models: the served model (the registry's versions come with the models endpoint).
import { api, unwrap } from "../api/client";
import { Show } from "../components/Status";
import { useLoad } from "../components/useLoad";
import { ModelFacts } from "../components/ModelFacts";

export default function Models() {
  const model = useLoad(async () => unwrap(await (await api()).forecast.GET("/model/info")), []);
  return (
    <>
      <h1>Models</h1>
      <section className="card" aria-labelledby="served-h">
        <h2 id="served-h">Served</h2>
        <Show what={model}>
          {(m) => <ModelFacts m={m} testid="served-model" />}
        </Show>
      </section>
    </>
  );
}
