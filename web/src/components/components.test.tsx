import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { getToken } from "../api/client";
import { Show } from "./Status";
import { TokenField } from "./TokenField";

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

describe("TokenField", () => {
  it("keeps the token in session storage only", () => {
    render(<TokenField />);
    fireEvent.change(screen.getByLabelText("API token"), { target: { value: " secret " } });
    fireEvent.click(screen.getByRole("button", { name: "Use token" }));
    expect(getToken()).toBe("secret");
    expect(localStorage.length).toBe(0);
    expect(screen.getByRole("status").textContent).toContain("kept for this browser session");
  });
  it("clears the token when emptied", () => {
    sessionStorage.setItem("storecast.apiToken", "x");
    render(<TokenField />);
    fireEvent.change(screen.getByLabelText("API token"), { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Use token" }));
    expect(getToken()).toBe("");
  });
});

describe("Show", () => {
  const cases = [
    { name: "loading", what: { state: "loading" as const }, text: "Loading…", role: null },
    { name: "error", what: { state: "error" as const, error: new Error("boom") }, text: "boom", role: "alert" },
    { name: "data", what: { state: "ok" as const, data: 42 }, text: "value 42", role: null },
  ];
  for (const c of cases) {
    it(`renders ${c.name}`, () => {
      render(<Show what={c.what}>{(n: number) => <span>value {n}</span>}</Show>);
      expect(screen.getByText(c.text)).toBeTruthy();
      if (c.role) expect(screen.getByRole(c.role)).toBeTruthy();
    });
  }
});
