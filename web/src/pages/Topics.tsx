// Topics: read-only inspection of the deployment's topics (partitions,
// offsets, cleanup policy, size), consumer groups with lag per partition,
// the latest records of a topic decoded, and dead letters with reasons.
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { Show } from "../components/Status";
import { useLoad } from "../components/useLoad";
import { bytes, sales } from "../lib/format";

export default function Topics() {
  const topics = useLoad(async () => unwrap(await (await api()).forecast.GET("/v1/topics")), []);
  const groups = useLoad(async () => unwrap(await (await api()).forecast.GET("/v1/groups")), []);
  const [browse, setBrowse] = useState<string>();
  return (
    <>
      <h1>Topics</h1>
      <section className="card" aria-labelledby="topics-h">
        <h2 id="topics-h">Topics</h2>
        <Show what={topics}>
          {(t) => (
            <div className="scroll" tabIndex={0}>
              <table data-testid="topics">
                <thead>
                  <tr>
                    <th scope="col">topic</th>
                    <th scope="col">cleanup</th>
                    <th scope="col" className="n">partitions</th>
                    <th scope="col" className="n">records</th>
                    <th scope="col" className="n">size</th>
                    <th scope="col">offsets (oldest–newest per partition)</th>
                    <th scope="col">
                      <span className="sr-only">browse</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {t.topics.map((x) => (
                    <tr key={x.name} data-topic={x.name} data-records={x.records}>
                      <td>{x.name}</td>
                      <td>{x.cleanup_policy}</td>
                      <td className="n">{x.partitions.length}</td>
                      <td className="n">{sales(x.records)}</td>
                      <td className="n">{bytes(x.size_bytes)}</td>
                      <td className="offsets">{x.partitions.map((p) => `${p.id}:${p.oldest}–${p.newest}`).join(" ")}</td>
                      <td>
                        <button type="button" className="secondary" onClick={() => setBrowse(x.name)}>
                          Browse<span className="sr-only"> {x.name}</span>
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Show>
      </section>
      {browse && <Messages key={browse} topic={browse} />}
      <DeadLetters />
      <section className="card" aria-labelledby="groups-h">
        <h2 id="groups-h">Consumer groups</h2>
        <Show what={groups}>
          {(g) => (g.groups.length === 0 ? <p className="muted">No consumer group of this deployment has committed yet.</p> : <Groups groups={g.groups} />)}
        </Show>
      </section>
    </>
  );
}

function Groups({ groups }: { groups: Schemas["Group"][] }) {
  return (
    <>
      {groups.map((g) => (
        <details key={g.name} data-group={g.name}>
          <summary>
            <strong>{g.name}</strong> — {g.state}, {g.members} members, lag <span data-testid="group-lag">{sales(g.lag)}</span>
          </summary>
          <div className="scroll" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">topic</th>
                  <th scope="col" className="n">partition</th>
                  <th scope="col" className="n">committed</th>
                  <th scope="col" className="n">newest</th>
                  <th scope="col" className="n">lag</th>
                </tr>
              </thead>
              <tbody>
                {g.partitions.map((p) => (
                  <tr key={`${p.topic}/${p.partition}`}>
                    <td>{p.topic}</td>
                    <td className="n">{p.partition}</td>
                    <td className="n">{p.committed}</td>
                    <td className="n">{p.newest}</td>
                    <td className="n">{p.lag}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      ))}
    </>
  );
}

function Messages({ topic }: { topic: string }) {
  const [form, setForm] = useState({ partition: "", offset: "", key: "" });
  const [query, setQuery] = useState(form);
  const msgs = useLoad(async () => {
    const c = await api();
    const q: { partition?: number; offset?: number; key?: string; limit: number } = { limit: 20 };
    if (query.partition !== "") q.partition = Number(query.partition);
    if (query.offset !== "") q.offset = Number(query.offset);
    if (query.key !== "") q.key = query.key;
    return unwrap(await c.forecast.GET("/v1/topics/{name}/messages", { params: { path: { name: topic }, query: q } }));
  }, [topic, query]);
  return (
    <section className="card" aria-labelledby="messages-h">
      <h2 id="messages-h">Latest records of {topic}</h2>
      <form
        className="inline-form"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          setQuery(form);
        }}
      >
        <label htmlFor="m-partition">Partition</label>
        <input id="m-partition" type="number" min={0} value={form.partition} onChange={(e) => setForm({ ...form, partition: e.target.value })} />
        <label htmlFor="m-offset">From offset</label>
        <input id="m-offset" type="number" min={0} value={form.offset} onChange={(e) => setForm({ ...form, offset: e.target.value })} />
        <label htmlFor="m-key">Key</label>
        <input id="m-key" value={form.key} onChange={(e) => setForm({ ...form, key: e.target.value })} />
        <button type="submit">Read</button>
      </form>
      <Show what={msgs}>{(m) => <MessageTable messages={m.messages} />}</Show>
    </section>
  );
}

function MessageTable({ messages }: { messages: Schemas["Message"][] }) {
  if (messages.length === 0) return <p className="muted">No records.</p>;
  const withReason = messages.some((m) => m.reason);
  return (
    <div className="scroll" tabIndex={0}>
      <table data-testid="messages">
        <thead>
          <tr>
            <th scope="col" className="n">partition</th>
            <th scope="col" className="n">offset</th>
            <th scope="col">key</th>
            <th scope="col">time</th>
            {withReason && <th scope="col">reason</th>}
            <th scope="col">value</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((m) => (
            <tr key={`${m.partition}/${m.offset}`}>
              <td className="n">{m.partition}</td>
              <td className="n">{m.offset}</td>
              <td>{m.key}</td>
              <td>{new Date(m.timestamp).toISOString().replace("T", " ").slice(0, 19)}</td>
              {withReason && <td data-testid="dlq-reason">{m.reason}</td>}
              <td>
                <pre>{m.encoding === "json" ? JSON.stringify(m.value) : m.encoding === "text" ? m.text : `binary, ${m.size} bytes`}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeadLetters() {
  const dl = useLoad(async () => unwrap(await (await api()).forecast.GET("/v1/dead-letters")), []);
  const [open, setOpen] = useState<string>();
  return (
    <section className="card" aria-labelledby="dlq-h">
      <h2 id="dlq-h">Dead letters</h2>
      <Show what={dl}>
        {(d) => (
          <>
            <ul className="checks" data-testid="dead-letters">
              {d.dead_letters.map((x) => (
                <li key={x.topic} className={x.total === 0 ? "ok" : "bad"}>
                  {x.topic}: {sales(x.total)} records
                  {Object.entries(x.reasons).map(([r, n]) => (
                    <span key={r} className="reason">
                      {" "}
                      · {r} ({n})
                    </span>
                  ))}
                  {x.total > 0 && (
                    <button type="button" className="secondary small" onClick={() => setOpen(x.topic)}>
                      Show<span className="sr-only"> {x.topic}</span>
                    </button>
                  )}
                </li>
              ))}
            </ul>
            {open && <DeadLetterRecords topic={open} />}
          </>
        )}
      </Show>
    </section>
  );
}

function DeadLetterRecords({ topic }: { topic: string }) {
  const msgs = useLoad(async () => {
    const c = await api();
    return unwrap(await c.forecast.GET("/v1/topics/{name}/messages", { params: { path: { name: topic }, query: { limit: 20 } } }));
  }, [topic]);
  return <Show what={msgs}>{(m) => <MessageTable messages={m.messages} />}</Show>;
}
