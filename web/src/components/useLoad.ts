// A small hook for data loaded once per dependency change.
import { useEffect, useState } from "react";

/** Loaded is the state of an asynchronous load. */
export type Loaded<T> = { state: "loading" } | { state: "ok"; data: T } | { state: "error"; error: Error };

/** useLoad runs load when deps change and keeps the latest answer (also while reloading). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [s, set] = useState<Loaded<T>>({ state: "loading" });
  useEffect(() => {
    let live = true;
    // Keep showing the last answer while a new one loads (polling pages).
    set((prev) => (prev.state === "ok" ? prev : { state: "loading" }));
    load().then(
      (data) => live && set({ state: "ok", data }),
      (error: unknown) => live && set({ state: "error", error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return s;
}
