#!/usr/bin/env bash
# check-runbooks.sh: every alert in deploy/prometheus/rules/ links a runbook
# page that exists (docs/runbooks/<alert>.md), has at least one promtool
# unit test in deploy/prometheus/tests/, and every runbook page belongs to
# an alert. Run by `make test-prometheus`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rc=0
mapfile -t alerts < <(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' deploy/prometheus/rules/*.yml | sort -u)
((${#alerts[@]})) || { echo "check-runbooks: no alerts found" >&2; exit 1; }
for a in "${alerts[@]}"; do
	if ! grep -q "runbook_url: docs/runbooks/$a.md$" deploy/prometheus/rules/*.yml; then
		echo "check-runbooks: $a has no runbook_url: docs/runbooks/$a.md" >&2
		rc=1
	fi
	[[ -f "docs/runbooks/$a.md" ]] || { echo "check-runbooks: docs/runbooks/$a.md is missing" >&2; rc=1; }
	grep -q "alertname: $a$" deploy/prometheus/tests/*.yml || { echo "check-runbooks: $a has no promtool test" >&2; rc=1; }
done
for f in docs/runbooks/*.md; do
	n="$(basename "$f" .md)"
	[[ "$n" == README ]] && continue
	printf '%s\n' "${alerts[@]}" | grep -qx "$n" || { echo "check-runbooks: $f belongs to no alert" >&2; rc=1; }
done
((rc == 0)) && echo "check-runbooks: ${#alerts[@]} alerts, each with a runbook and a unit test"
exit "$rc"
