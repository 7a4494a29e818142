// The API token of mutating endpoints, entered once per browser session.
import { useState } from "react";
import { getToken, setToken } from "../api/client";

/** TokenField edits the session's API token. */
export function TokenField() {
  const [value, setValue] = useState(getToken());
  const [saved, setSaved] = useState(getToken() !== "");
  return (
    <form
      className="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        setSaved(value.trim() !== "");
      }}
    >
      <label htmlFor="api-token">API token</label>
      <input
        id="api-token"
        type="password"
        autoComplete="off"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="STORECAST_API_TOKEN"
      />
      <button type="submit">Use token</button>
      <span role="status">{saved ? "token kept for this browser session" : "no token set"}</span>
    </form>
  );
}
