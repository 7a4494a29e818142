// Loading and error states of a page section.
import type { ReactNode } from "react";
import type { Loaded } from "./useLoad";

/** Show renders children with the data, or the loading or error state. */
export function Show<T>({ what, children }: { what: Loaded<T>; children: (data: T) => ReactNode }) {
  if (what.state === "loading") return <p className="muted" aria-busy="true">Loading…</p>;
  if (what.state === "error") return <p className="error" role="alert">{what.error.message}</p>;
  return <>{children(what.data)}</>;
}
