// Predict: the original's form (store, date, promo, state holiday, school
// holiday) with the answer, the model version and the horizon; an error is
// shown next to the field the API names.
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { addDays } from "../lib/dates";
import { forecastAsOf } from "../lib/asof";
import { sales } from "../lib/format";

type Req = Schemas["PredictRequest"];

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
        <label htmlFor="promo">Promo</label>
        <select id="promo" name="promo" value={form.promo} onChange={(e) => setForm({ ...form, promo: Number(e.target.value) as 0 | 1 })} {...described("promo")}>
          <option value={0}>no</option>
          <option value={1}>yes</option>
        </select>
        {fieldError("promo")}
        <label htmlFor="stateholiday">State holiday</label>
        <select
          id="stateholiday"
          name="stateholiday"
          value={form.stateholiday}
          onChange={(e) => setForm({ ...form, stateholiday: e.target.value as Req["stateholiday"] })}
          {...described("stateholiday")}
        >
          <option value="0">none</option>
          <option value="a">public holiday</option>
          <option value="b">Easter</option>
          <option value="c">Christmas</option>
        </select>
        {fieldError("stateholiday")}
        <label htmlFor="schoolholiday">School holiday</label>
        <select
          id="schoolholiday"
          name="schoolholiday"
          value={form.schoolholiday}
          onChange={(e) => setForm({ ...form, schoolholiday: Number(e.target.value) as 0 | 1 })}
          {...described("schoolholiday")}
        >
          <option value={0}>no</option>
          <option value={1}>yes</option>
        </select>
        {fieldError("schoolholiday")}
        <label htmlFor="open">Open</label>
        <select id="open" name="open" value={form.open} onChange={(e) => setForm({ ...form, open: Number(e.target.value) as 0 | 1 })} {...described("open")}>
          <option value={1}>open</option>
          <option value={0}>closed</option>
        </select>
        {fieldError("open")}
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
