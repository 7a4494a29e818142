// Topics: read-only inspection of topics, groups and messages.
export default function Topics() {
  return (
    <>
      <h1>Topics</h1>
      <p className="muted">Topic inspection comes with the dashboard endpoints.</p>
    </>
  );
}
