// The dashboard's layout and routes; each page is its own chunk.
import { lazy, Suspense } from "react";
import { NavLink, Route, Routes } from "react-router-dom";

const loadStore = () => import("./pages/Store");
const Overview = lazy(() => import("./pages/Overview"));
const Store = lazy(loadStore);

// The store page is the one people open most: fetch its chunk (and the
// chart library) once the first page is idle, so opening it costs no download.
if (typeof window !== "undefined") {
  const idle = window.requestIdleCallback ?? ((f: () => void) => window.setTimeout(f, 1500));
  idle(() => void loadStore());
}
const Predict = lazy(() => import("./pages/Predict"));
const Models = lazy(() => import("./pages/Models"));
const Training = lazy(() => import("./pages/Training"));
const Topics = lazy(() => import("./pages/Topics"));

/** pages lists the navigation in order. */
export const pages = [
  { path: "/", label: "Overview" },
  { path: "/stores", label: "Store" },
  { path: "/predict", label: "Predict" },
  { path: "/models", label: "Models" },
  { path: "/training", label: "Training" },
  { path: "/topics", label: "Topics" },
];

/** App is the page frame: header, navigation and the routed page. */
export function App() {
  return (
    <div className="frame">
      <header>
        <a className="brand" href="/">
          Storecast
        </a>
        <nav aria-label="Pages">
          {pages.map((p) => (
            <NavLink key={p.path} to={p.path} end={p.path === "/"}>
              {p.label}
            </NavLink>
          ))}
        </nav>
      </header>
      <main>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Routes>
            <Route path="/" element={<Overview />} />
            <Route path="/stores" element={<Store />} />
            <Route path="/stores/:id" element={<Store />} />
            <Route path="/predict" element={<Predict />} />
            <Route path="/models" element={<Models />} />
            <Route path="/training" element={<Training />} />
            <Route path="/topics" element={<Topics />} />
            <Route path="*" element={<h1>Page not found</h1>} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
