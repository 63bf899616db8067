#!/usr/bin/env bash
# The API collection (docs/api/food-delivery.postman_collection.json) run by
# newman against the fresh food-stack .ci/contract/run gives it (FOOD_BASE_URL
# and the FOOD_*_KEY variables, see stack.sh). Passes only when every request
# answered and every assertion held; prints how many assertions ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${FOOD_TOOLS:?run through .ci/contract/run}" "${FOOD_BASE_URL:?}" "${FOOD_WORK:?}"

report="$FOOD_WORK/newman.json"
status=0
# --timeout-request: a request that hangs is a failure, not a stuck CI job.
"$FOOD_TOOLS/node/node_modules/.bin/newman" run docs/api/food-delivery.postman_collection.json \
    --env-var "baseUrl=$FOOD_BASE_URL" \
    --env-var "opsKey=$FOOD_OPS_KEY" \
    --env-var "customerKey=$FOOD_CUSTOMER_KEY" \
    --env-var "courierKey=$FOOD_COURIER_KEY" \
    --env-var "restaurantKey=$FOOD_RESTAURANT_KEY" \
    --timeout-request 10000 \
    --reporters cli,json --reporter-json-export "$report" \
    --color off || status=$?

python3 - "$report" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["run"]
s = run["stats"]
print(
    "newman: {} requests, {} assertions, {} failed assertions, {} failed requests, "
    "{} script errors".format(
        s["requests"]["total"], s["assertions"]["total"], s["assertions"]["failed"],
        s["requests"]["failed"], s["testScripts"]["failed"] + s["prerequestScripts"]["failed"],
    )
)
PY
exit "$status"
