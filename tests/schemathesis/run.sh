#!/usr/bin/env bash
# Schemathesis against the server's own /v1/openapi.json, with a token of
# every role: all of its checks (and role_boundaries of hooks.py), positive
# and negative data, at most $SCHEMATHESIS_EXAMPLES examples per operation,
# against the debug server binary on 127.0.0.1 (a random port) over a fresh
# data directory seeded by seed.py. The five roles run in parallel.
# Fails, naming the role and the report to read, on any failure: a 5xx, an
# answer the document does not describe, a 2xx a role must not get.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

VERSION=4.32.5
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-20}
python3 -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$VERSION')" 2>/dev/null \
  || pip install --quiet "schemathesis==$VERSION"

cargo build -p suishoupai-server --locked --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/debug/suishoupai-server"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -z "${KEEP_SCHEMATHESIS:-}" ]; then rm -rf "$work"; else echo "schemathesis: kept $work"; fi
}
trap cleanup EXIT

mkdir -p "$work/data"
"$bin" --data "$work/data" serve --listen 127.0.0.1:0 >"$work/stdout" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/stdout" | head -1)
[ -n "$base" ] || { echo "schemathesis: the server did not start"; cat "$work/server.log"; exit 1; }

python3 tests/schemathesis/seed.py "$bin" "$work/data" "$base" "$work/seed.json"

roles=(resident grid_worker coordinator department admin)
started=$(date +%s)
pids=()
for role in "${roles[@]}"; do
  token=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tokens'][sys.argv[2]])" "$work/seed.json" "$role")
  mkdir -p "$work/$role"
  (
    cd "$work/$role"
    SUISHOUPAI_ROLE=$role SUISHOUPAI_SEED="$work/seed.json" SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$root/tests/schemathesis" \
      st --config-file "$root/tests/schemathesis/schemathesis.toml" run "$base/v1/openapi.json" \
      --header "Authorization: Bearer $token" \
      --checks all --mode all --max-examples "$EXAMPLES" --seed 20261203 \
      --workers 1 --request-timeout 30 --no-color \
      --report junit --report-dir "$work/$role/report" >"$work/$role/out.txt" 2>&1
  ) &
  pids+=($!)
done
failed=()
for i in "${!roles[@]}"; do
  wait "${pids[$i]}" || failed+=("${roles[$i]}")
done
elapsed=$(( $(date +%s) - started ))

for role in "${roles[@]}"; do
  summary=$(grep -A1 "^Test cases:" "$work/$role/out.txt" | tail -1 | sed 's/^ *//' || true)
  echo "schemathesis $role: $summary"
done
echo "schemathesis: ${#roles[@]} roles, at most $EXAMPLES examples per operation, ${elapsed}s"
if [ ${#failed[@]} -gt 0 ]; then
  for role in "${failed[@]}"; do
    echo "=== schemathesis failed for $role ($work/$role/out.txt) ==="
    tail -150 "$work/$role/out.txt"
  done
  grep -E '"level":"ERROR"' "$work/server.log" | tail -20 || true
  KEEP_SCHEMATHESIS=1
  echo "schemathesis: FAILED for ${failed[*]}: the server or sync-server/src/http/openapi.json is wrong (see above)"
  exit 1
fi
echo "schemathesis: no failure"
