# Sourced by .ci/contract/run: `with_stack SCRIPT` starts a fresh food-stack
# (embedded broker, SQLite, its own data dir and ports, no rate limit),
# waits until it is ready, runs SCRIPT with
#   FOOD_BASE_URL    http://127.0.0.1:PORT
#   FOOD_KEYS_FILE   its local-keys.json
#   FOOD_OPS_KEY, FOOD_CUSTOMER_KEY (cust-ada's), FOOD_COURIER_KEY
#   (courier-1's), FOOD_RESTAURANT_KEY (maison-tandoor's, a kitchen that
#   accepts by hand), FOOD_WORK (a scratch directory)
# and stops the stack, whatever SCRIPT's outcome. The stack's log is printed
# when SCRIPT fails.

with_stack() {
    local script=$1 work
    work=$(mktemp -d /tmp/food-contract.XXXXXX)
    local base=18080
    XDG_CONFIG_HOME="$work/config" "$CARGO_TARGET_DIR/debug/food-stack" \
        --data-dir "$work/data" --fresh --no-contexts --rate-limit 0 \
        --gateway-addr "127.0.0.1:$base" --menu-addr 127.0.0.1:18051 \
        --order-addr 127.0.0.1:18052 --delivery-addr 127.0.0.1:18053 \
        --broker-addr 127.0.0.1:18092 >"$work/stack.log" 2>&1 &
    local pid=$!
    local url="http://127.0.0.1:$base" ready=
    for _ in $(seq 1 120); do
        if curl -sf "$url/readyz" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$ready" ]; then
        echo "food-stack did not become ready:" >&2
        cat "$work/stack.log" >&2
        kill "$pid" 2>/dev/null || true
        return 1
    fi
    local keys="$work/data/local-keys.json" status=0
    FOOD_BASE_URL="$url" FOOD_KEYS_FILE="$keys" FOOD_WORK="$work" \
        FOOD_OPS_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ops"])' "$keys") \
        FOOD_CUSTOMER_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["customers"]["cust-ada"])' "$keys") \
        FOOD_COURIER_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["courier"])' "$keys") \
        FOOD_RESTAURANT_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["restaurants"]["maison-tandoor"])' "$keys") \
        "$script" || status=$?
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "--- food-stack log (last 50 lines) ---" >&2
        tail -50 "$work/stack.log" >&2
    fi
    rm -rf "$work"
    return "$status"
}
