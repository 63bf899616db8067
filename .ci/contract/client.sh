#!/usr/bin/env bash
# A client generated from docs/api/openapi.json by a generator nobody here
# wrote (openapi-python-client, in $FOOD_TOOLS/venv) places and reads an order
# against the fresh food-stack .ci/contract/run gives it (client_test.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${FOOD_TOOLS:?run through .ci/contract/run}" "${FOOD_BASE_URL:?}" "${FOOD_WORK:?}"

out="$FOOD_WORK/client"
config="$FOOD_WORK/client-config.yaml"
# A fixed package name, whatever the document's title; no post hooks (they
# run ruff, which a client does not need to work).
cat >"$config" <<'YAML'
project_name_override: food-client
package_name_override: food_client
post_hooks: []
YAML
# --fail-on-warning: a part of the document the generator cannot type is a
# failure, not a client with pieces missing.
"$FOOD_TOOLS/venv/bin/openapi-python-client" generate --path docs/api/openapi.json \
    --output-path "$out" --config "$config" --overwrite --fail-on-warning
PYTHONPATH="$out" "$FOOD_TOOLS/venv/bin/python" .ci/contract/client_test.py
