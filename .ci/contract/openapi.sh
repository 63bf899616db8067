#!/usr/bin/env bash
# The OpenAPI contract judged by tools nobody here wrote. Run by
# `.ci/contract/run openapi`, which gives it a fresh food-stack (see
# stack.sh for FOOD_BASE_URL and the FOOD_*_KEY variables).
#
# 1. Spectral (spectral:oas) on docs/api/openapi.json: 0 errors, 0 warnings.
# 2. The stack serves exactly docs/api/openapi.json at /openapi.json.
# 3. schemathesis, every check and every phase (examples, coverage,
#    fuzzing, stateful: the links from POST /orders to the routes taking
#    its id), once per key, the four side by side: ops, customer,
#    restaurant, courier. Settings, each with its reason, in
#    schemathesis.toml. 0 failures, or it fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=.ci/contract
tools=${FOOD_TOOLS:-$HOME/.cache/food-platform/tools}
: "${FOOD_BASE_URL:?run through .ci/contract/run openapi}"

echo "openapi: spectral"
"$tools/node/node_modules/.bin/spectral" lint docs/api/openapi.json \
    --ruleset docs/api/.spectral.yaml --fail-severity warn

echo "openapi: the served document is docs/api/openapi.json"
curl -sf "$FOOD_BASE_URL/openapi.json" >"$FOOD_WORK/served.json"
python3 - "$FOOD_WORK/served.json" docs/api/openapi.json <<'PY'
import json, sys
served, committed = (json.load(open(p)) for p in sys.argv[1:3])
if served != committed:
    sys.exit("GET /openapi.json differs from docs/api/openapi.json: run `cargo run -p food-contract -- export`")
PY

# A fixed seed, so that CI judges the same cases on every run and a
# failure replays; FOOD_SCHEMATHESIS_SEED=random explores new ones (do that
# when changing the gateway, and fix what it finds).
seed=${FOOD_SCHEMATHESIS_SEED:-20261202}
seed_args=()
[ "$seed" = random ] || seed_args=(--seed "$seed")

# The four runs go side by side: each spends most of its time waiting on
# the stack's answers, and each key sees its own data (the ops key sees the
# others' orders too, which they only add to). Side by side they take
# about half as long as one after the other on two cores.
roles=(ops customer restaurant courier)
pids=()
for role in "${roles[@]}"; do
    var="FOOD_$(echo "$role" | tr a-z A-Z)_KEY"
    key=${!var:?"$var is not set"}
    echo "openapi: schemathesis as $role"
    "$tools/venv/bin/schemathesis" --config-file "$here/schemathesis.toml" \
        run "$FOOD_BASE_URL/openapi.json" --url "$FOOD_BASE_URL" \
        --checks all --phases examples,coverage,fuzzing,stateful "${seed_args[@]}" \
        -H "Authorization: Bearer $key" \
        --no-color --output-truncate true >"$FOOD_WORK/schemathesis-$role.txt" 2>&1 &
    pids+=($!)
done

total=0
failed=()
for i in "${!roles[@]}"; do
    role=${roles[$i]}
    out="$FOOD_WORK/schemathesis-$role.txt"
    status=0
    wait "${pids[$i]}" || status=$?
    # The summary line: "Test cases: N generated, N passed, M skipped".
    summary=$(grep -A1 '^Test cases:' "$out" | tail -1 | sed 's/^ *//')
    echo "  $role: $summary"
    if [ "$status" -ne 0 ]; then
        cat "$out"
        failed+=("$role")
    fi
    generated=$(echo "$summary" | grep -oE '^[0-9]+' || echo 0)
    total=$((total + generated))
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "openapi: schemathesis found failures as ${failed[*]}" >&2
    exit 1
fi
echo "openapi: spectral clean; schemathesis 0 failures in $total generated cases (4 keys)"
