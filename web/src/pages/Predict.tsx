// Predict: the original's form (store, date, promo, state holiday, school
// holiday) with the answer, the model version and the horizon; an error is
// shown next to the field the API names.
import { Fragment, useEffect, useState, type FormEvent } from "react";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { addDays } from "../lib/dates";
import { forecastAsOf } from "../lib/asof";
import { sales } from "../lib/format";

type Req = Schemas["PredictRequest"];

const yesNo: [string, string][] = [
  ["0", "no"],
  ["1", "yes"],
];

/** choices are the form's select fields, named as the API names them. */
const choices: { field: "promo" | "stateholiday" | "schoolholiday" | "open"; label: string; options: [string, string][] }[] = [
  { field: "promo", label: "Promo", options: yesNo },
  {
    field: "stateholiday",
    label: "State holiday",
    options: [
      ["0", "none"],
      ["a", "public holiday"],
      ["b", "Easter"],
      ["c", "Christmas"],
    ],
  },
  { field: "schoolholiday", label: "School holiday", options: yesNo },
  {
    field: "open",
    label: "Open",
    options: [
      ["1", "open"],
      ["0", "closed"],
    ],
  },
];

export default function Predict() {
  const [form, setForm] = useState<Req>({ store_id: 1, date: "", promo: 0, stateholiday: "0", schoolholiday: 0, open: 1 });
  const [answer, setAnswer] = useState<Schemas["PredictResponse"]>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    forecastAsOf().then(
      (d) => setForm((f) => (f.date ? f : { ...f, date: addDays(d, 12) })),
      () => undefined,
    );
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setAnswer(undefined);
    try {
      const c = await api();
      setAnswer(unwrap(await c.forecast.POST("/predict", { body: form })));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError({ type: "about:blank", title: "Error", status: 0, detail: String(err) }));
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (name: string) =>
    error?.field === name ? (
      <span className="field-error" id={`${name}-error`} role="alert">
        {error.message}
      </span>
    ) : null;
  const described = (name: string) => (error?.field === name ? { "aria-describedby": `${name}-error`, "aria-invalid": true } : {});

  return (
    <>
      <h1>Predict one day</h1>
      <form className="grid-form" onSubmit={submit} noValidate>
        <label htmlFor="store_id">Store</label>
        <input
          id="store_id"
          name="store_id"
          type="number"
          value={Number.isNaN(form.store_id) ? "" : form.store_id}
          onChange={(e) => setForm({ ...form, store_id: e.target.valueAsNumber })}
          {...described("store_id")}
        />
        {fieldError("store_id")}
        <label htmlFor="date">Date</label>
        <input id="date" name="date" type="date" value={form.date} onChange={(e) => setForm({ ...form, date: e.target.value })} {...described("date")} />
        {fieldError("date")}
        {choices.map((c) => (
          <Fragment key={c.field}>
            <label htmlFor={c.field}>{c.label}</label>
            <select
              id={c.field}
              name={c.field}
              value={String(form[c.field])}
              onChange={(e) => setForm({ ...form, [c.field]: c.field === "stateholiday" ? e.target.value : Number(e.target.value) })}
              {...described(c.field)}
            >
              {c.options.map(([v, text]) => (
                <option key={v} value={v}>
                  {text}
                </option>
              ))}
            </select>
            {fieldError(c.field)}
          </Fragment>
        ))}
        <div />
        <button type="submit" disabled={busy}>
          Predict
        </button>
      </form>
      {error && !error.field && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {answer && (
        <section className="card" aria-label="Prediction">
          <p className="big" data-testid="predicted-sales" data-value={answer.predicted_sales}>
            {sales(answer.predicted_sales)}
          </p>
          <p>
            predicted sales of store {answer.store_id} on {answer.date}
          </p>
          <dl className="facts">
            <dt>Model</dt>
            <dd data-testid="model-version">
              {answer.model_name} v{answer.model_version}
            </dd>
            <dt>As of</dt>
            <dd>{answer.as_of}</dd>
            <dt>Horizon</dt>
            <dd data-testid="horizon">{answer.horizon} days</dd>
          </dl>
        </section>
      )}
    </>
  );
}
