// The typed API clients of the dashboard, generated from api/openapi.yaml
// (src/api/schema.d.ts, written by `npm run gen`). No request or response
// shape is written by hand here.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type ApiClient = ReturnType<typeof createClient<paths>>;

/** DashboardConfig is what the dashboard's own listener answers at /config.json. */
export interface DashboardConfig {
  forecast_api: string;
  train_api: string;
}

const tokenKey = "storecast.apiToken";

/** getToken returns the API token kept in this browser session only. */
export function getToken(): string {
  return sessionStorage.getItem(tokenKey) ?? "";
}

/** setToken keeps the API token in session storage (never local storage). */
export function setToken(token: string): void {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
}

const bearer: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && request.method !== "GET") request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

export interface Clients {
  forecast: ApiClient;
  train: ApiClient;
}

let clients: Promise<Clients> | undefined;

/** api returns the two clients, configured from /config.json once per page load. */
export function api(): Promise<Clients> {
  clients ??= fetch("/config.json")
    .then((r) => {
      if (!r.ok) throw new Error(`config.json: ${r.status}`);
      return r.json() as Promise<DashboardConfig>;
    })
    .then((cfg) => {
      const forecast = createClient<paths>({ baseUrl: cfg.forecast_api });
      const train = createClient<paths>({ baseUrl: cfg.train_api });
      train.use(bearer);
      forecast.use(bearer);
      return { forecast, train };
    });
  return clients;
}

/** ApiError carries the problem the API answered, with the field at fault. */
export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.problem = problem;
  }
  get field(): string | undefined {
    return this.problem.field;
  }
}

/** unwrap returns data or throws an ApiError built from the problem body. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  const e = r.error as Partial<Problem> | undefined;
  throw new ApiError({
    type: e?.type ?? "about:blank",
    title: e?.title ?? r.response.statusText,
    status: e?.status ?? r.response.status,
    detail: e?.detail ?? `HTTP ${r.response.status}`,
    ...(e?.field ? { field: e.field } : {}),
  });
}
