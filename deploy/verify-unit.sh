#!/usr/bin/env bash
# Check deploy/arxivwatch.service, and the [Service] snippet the README shows, with
# `systemd-analyze verify` (Debian/Ubuntu: apt-get install systemd). Fails on any warning:
# systemd reads a trailing "# ..." as part of a value, and only warns about some of them.
# The binary is swapped for /bin/true, since arxivwatch need not be installed where this runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# systemd-analyze says nothing about a comment after a path (EnvironmentFile=/etc/x.env  # secrets
# just names another file), so trailing comments are looked for first, without systemd.
trailing=$( { grep -nE '^[^#;[][^=]*=.*[[:space:]][#;]' deploy/arxivwatch.service || true; \
    sed -n '/^```ini$/,/^```$/p' README.md | grep -nE '^[^#;[][^=]*=.*[[:space:]][#;]' | sed 's/^/README snippet:/' || true; } )
if [ -n "$trailing" ]; then
    echo "verify-unit: a comment after a value becomes part of it; put it on its own line:" >&2
    echo "$trailing" >&2
    exit 1
fi
command -v systemd-analyze >/dev/null || { echo "verify-unit: systemd-analyze not found (apt-get install systemd)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's#^ExecStart=.*#ExecStart=/bin/true#' deploy/arxivwatch.service > "$work/arxivwatch.service"
{
    printf '[Unit]\nDescription=the README snippet\n\n'
    sed -n '/^```ini$/,/^```$/p' README.md | sed '1d;$d' | sed 's#^ExecStart=.*#ExecStart=/bin/true#'
} > "$work/arxivwatch-readme.service"
status=0
for unit in "$work/arxivwatch.service" "$work/arxivwatch-readme.service"; do
    out=$(systemd-analyze verify "$unit" 2>&1) || status=1
    if [ -n "$out" ]; then
        echo "$out" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "verify-unit: deploy/arxivwatch.service and the README snippet are clean"
exit "$status"
