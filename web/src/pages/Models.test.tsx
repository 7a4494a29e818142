import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../api/client";
import { actionFor, actionLabel } from "../lib/promotion";

// The page's API clients, answered by the test.
const calls: { method: string; path: string; params?: unknown }[] = [];
let promoteAnswer: { data?: unknown; error?: unknown; status: number } = { status: 202 };
let statusAnswers: Schemas["TrainStatus"][] = [];

const versions: Schemas["ModelVersion"][] = [
  { name: "storecast-sales", version: "3", run_id: "r3", status: "READY", aliases: ["challenger"], created_at: "2015-06-21T00:00:00Z", metrics: {} },
  { name: "storecast-sales", version: "2", run_id: "r2", status: "READY", aliases: ["champion"], created_at: "2015-06-20T00:00:00Z", metrics: {} },
  { name: "storecast-sales", version: "1", run_id: "r1", status: "READY", aliases: ["previous"], created_at: "2015-06-19T00:00:00Z", metrics: {} },
];
const info = { name: "storecast-sales", version: "2", format: "lightgbm-text-v3", feature_schema: "f1", feature_names: [], sha256: "x", loaded_at: "2015-06-20T00:00:00Z" };

function answer(data: unknown, status = 200, error?: unknown) {
  return Promise.resolve({ data: error ? undefined : data, error, response: new Response(null, { status }) });
}

vi.mock("../api/client", async (importOriginal) => {
  const real = await importOriginal<typeof import("../api/client")>();
  const forecast = {
    GET: (path: string) => answer(path === "/model/info" ? info : { versions }),
  };
  const train = {
    POST: (path: string, init: { params?: unknown }) => {
      calls.push({ method: "POST", path, params: init.params });
      return answer(promoteAnswer.data, promoteAnswer.status, promoteAnswer.error);
    },
    GET: (path: string, init: { params?: unknown }) => {
      calls.push({ method: "GET", path, params: init.params });
      return answer(statusAnswers.shift());
    },
  };
  return { ...real, api: () => Promise.resolve({ forecast, train }) };
});

const { default: Models, Versions } = await import("./Models");

afterEach(() => {
  cleanup();
  calls.length = 0;
  sessionStorage.clear();
});

describe("actionFor", () => {
  const cases = [
    { aliases: ["champion", "challenger"], want: "champion" },
    { aliases: ["previous"], want: "rollback" },
    { aliases: ["challenger"], want: "promote" },
    { aliases: [], want: "promote" },
  ] as const;
  for (const c of cases) it(`[${c.aliases.join(",")}] → ${c.want}`, () => expect(actionFor(c.aliases)).toBe(c.want));
  it("labels a rollback", () => expect(actionLabel("rollback", "1")).toBe("Roll back to v1"));
});

describe("Versions", () => {
  it("offers promote and roll back, never on the champion", () => {
    const onPromote = vi.fn();
    render(<Versions versions={versions} onPromote={onPromote} />);
    expect(screen.getAllByRole("button").map((b) => b.textContent)).toEqual(["Promote v3", "Roll back to v1"]);
    fireEvent.click(screen.getByRole("button", { name: "Roll back to v1 of storecast-sales" }));
    expect(onPromote).toHaveBeenCalledWith(versions[2]);
  });
  it("disables the buttons while a promotion runs", () => {
    render(<Versions versions={versions} busy onPromote={() => undefined} />);
    expect(screen.getAllByRole("button").every((b) => (b as HTMLButtonElement).disabled)).toBe(true);
  });
});

describe("Models page", () => {
  it("shows a refused promotion (wrong token) and asks nothing more", async () => {
    promoteAnswer = {
      status: 401,
      error: { type: "urn:storecast:problem:unauthorized", title: "Unauthorized", status: 401, detail: "a valid bearer token is required" },
    };
    render(<Models />);
    fireEvent.click(await screen.findByRole("button", { name: "Promote v3 of storecast-sales" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Promotion of storecast-sales v3 refused: 401: a valid bearer token is required");
    expect(calls).toEqual([
      { method: "POST", path: "/v1/models/{name}/versions/{version}/promote", params: { path: { name: "storecast-sales", version: "3" } } },
    ]);
  });

  it("follows an accepted promotion until the trainer answers", async () => {
    promoteAnswer = { status: 202, data: { request_id: "p1", status: "pending", status_url: "/train/p1" } };
    statusAnswers = [
      { request_id: "p1", status: "running" },
      { request_id: "p1", status: "succeeded", promoted: true, model_version: "1", reason: "v1 is the champion (previous: v2)" },
    ];
    render(<Models />);
    fireEvent.click(await screen.findByRole("button", { name: "Roll back to v1 of storecast-sales" }));
    await waitFor(() => expect(screen.getByTestId("promotion-status").dataset.status).toBe("succeeded"));
    expect(screen.getByTestId("promotion-status").textContent).toBe(
      "Promotion of storecast-sales v1: succeeded (v1 is the champion (previous: v2))",
    );
    expect(calls.filter((c) => c.method === "GET")).toHaveLength(2);
    expect(calls[1]?.params).toEqual({ path: { id: "p1" }, query: { wait: "30s" } });
  });
});
