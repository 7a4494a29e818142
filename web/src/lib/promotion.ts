// What the Models page offers for each registered version: the champion
// stays; the previous champion can be rolled back to; any other version
// can be promoted. All of them go through the training API's promote
// request (the trainer verifies the version, moves the registry's champion
// and publishes it on the models topic).

/** VersionAction is what a version's row offers. */
export type VersionAction = "champion" | "rollback" | "promote";

/** actionFor returns the action of a version by its registry aliases. */
export function actionFor(aliases: readonly string[]): VersionAction {
  if (aliases.includes("champion")) return "champion";
  if (aliases.includes("previous")) return "rollback";
  return "promote";
}

/** actionLabel is the button text of an action on version. */
export function actionLabel(action: VersionAction, version: string): string {
  return action === "rollback" ? `Roll back to v${version}` : `Promote v${version}`;
}

/** finished reports whether a request's status is final. */
export function finished(status: string | undefined): boolean {
  return status === "succeeded" || status === "failed";
}
