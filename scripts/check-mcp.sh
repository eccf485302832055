#!/usr/bin/env bash
# check-mcp.sh — check the MCP exposer with third-party MCP clients.
#
# What it does, for each capability it serves:
#   1. installs, once, into a cache folder (not the repository):
#        - the MCP Inspector CLI  (@modelcontextprotocol/inspector@2.12.0, npm), and
#        - jbt-mcpcheck==0.1.1    (PyPI; a 2026-07-28 conformance checker) in a virtualenv of its own;
#   2. serves the capability's MCP adapter with a small Python launcher (build_mcp_app + uvicorn on an
#      ephemeral loopback port), in the project's virtualenv;
#   3. runs the Inspector CLI: tools/list in both protocol eras (with --strict schema portability checks,
#      whose warnings fail the check too),
#      a valid tools/call in both eras, and a schema-invalid tools/call that must come back as a tool error;
#   4. runs `mcpcheck URL --legacy-probes --probe all --strict`: every check must pass, warnings included.
#
# Capabilities served:
#   - mock: an inline, mock-only capability (always; needs no network);
#   - workflow: capabilities/durable-workflow.yaml against the local Inngest stand-in (always);
#   - seed: the seed capability from ../shared, against an in-process echo upstream (when ../shared exists).
#
# Usage:   scripts/check-mcp.sh [mock|workflow|seed ...]   (default: mock and workflow, plus seed when available)
# Env:     PYTHON                 the interpreter with naftiko_runtime installed (default: .venv/bin/python)
#          NAFTIKO_MCP_TOOLS      the tool cache (default: ${XDG_CACHE_HOME:-$HOME/.cache}/naftiko-mcp-tools)
# Needs:   node + npm (Node 20 works; the Inspector warns that it prefers 22), python3 with venv.
# Exit:    0 when every check passed; 1, with a FAILED line naming the check, otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
CACHE=${NAFTIKO_MCP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/naftiko-mcp-tools}
INSPECTOR_VERSION=2.12.0
MCPCHECK_VERSION=0.1.1
WORK=$(mktemp -d)
SERVER_PID=

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\ncheck-mcp: FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools ----------------------------------------------------------------------------------------------

install_tools() {
  mkdir -p "$CACHE"
  local pkg="$CACHE/node_modules/@modelcontextprotocol/inspector/package.json"
  if ! grep -q "\"version\": \"$INSPECTOR_VERSION\"" "$pkg" 2>/dev/null; then
    log "installing @modelcontextprotocol/inspector@$INSPECTOR_VERSION into $CACHE"
    npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error \
      "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >&2 || die "npm install of the Inspector"
  fi
  if [ "$("$CACHE/venv/bin/mcpcheck" --version 2>/dev/null || true)" != "mcpcheck $MCPCHECK_VERSION" ]; then
    log "installing jbt-mcpcheck==$MCPCHECK_VERSION into $CACHE/venv"
    python3 -m venv "$CACHE/venv" || die "python3 -m venv"
    "$CACHE/venv/bin/pip" install --quiet "jbt-mcpcheck==$MCPCHECK_VERSION" >&2 || die "pip install jbt-mcpcheck"
  fi
  "$CACHE/venv/bin/mcpcheck" --version >&2
}

# The Inspector CLI, run from the cache so npx finds the pinned install; its catalog stays in the cache too.
inspector() {
  (cd "$CACHE" && MCP_STORAGE_DIR="$CACHE/inspector/storage" MCP_CATALOG_PATH="$CACHE/inspector/mcp.json" \
    MCP_CLIENT_CONFIG_PATH="$CACHE/inspector/client.json" \
    MCP_INSPECTOR_OAUTH_STATE_PATH="$CACHE/inspector/oauth.json" \
    npx --no-install @modelcontextprotocol/inspector --cli "$@")
}

# --- the server -----------------------------------------------------------------------------------------

LAUNCHER=$(cat <<'PYTHON'
"""Serve one capability's MCP adapter on an ephemeral loopback port; print its URL, then wait to be killed."""
import sys, tempfile, threading
from pathlib import Path

root, which = Path(sys.argv[1]), sys.argv[2]
sys.path.insert(0, str(root))
from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.engine import Runtime
from naftiko_runtime.exposes.mcp.transport import build_mcp_app
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file, load_text
from tests.support import run_asgi, write_seed
from tests.upstreams import echo_app

MOCK = """\
naftiko: 1.0.0-alpha2
info: {label: Naftiko MCP check, description: A mock-only capability for MCP conformance checks}
capability:
  exposes:
  - type: mcp
    namespace: mcp-check
    port: 9090
    description: Mock tools for MCP conformance checks.
    tools:
    - name: greet
      label: Greet
      description: Greet someone; answered from static outputs, no upstream.
      hints: {readOnly: true, destructive: false, idempotent: true, openWorld: false}
      inputParameters:
      - {name: who, type: string, description: Whom to greet}
      - {name: times, type: integer, description: How many greetings, required: false, default: 1}
      - {name: tone, type: string, description: The tone, required: false, enum: [plain, warm]}
      outputParameters:
      - {name: greeting, type: string, value: "Hello, {{who}}!"}
      - {name: source, type: string, const: mock}
    prompts:
    - name: welcome
      description: A welcome message.
      arguments: [{name: who, description: Whom to welcome}]
      template: [{role: user, content: "Welcome, {{who}}."}]
"""

upstreams, env = {}, {}
if which == "workflow":
    from naftiko_inngest_dev import DevConfig, create_app

    keys = {"INNGEST_SIGNING_KEY": "signkey-check-00ff", "INNGEST_EVENT_KEY": "ek-check-only"}
    config = DevConfig.from_mapping({"signing_keys": [keys["INNGEST_SIGNING_KEY"]],
                                     "event_keys": [keys["INNGEST_EVENT_KEY"]]})
    standin_server = run_asgi(create_app(config))  # keep a reference: the server lives as long as it does
    standin = standin_server.__enter__()
    doc = load_file(root / "capabilities" / "durable-workflow.yaml").require()
    upstreams, env = {"inngest-events": standin, "inngest-api": standin}, keys
elif which == "seed":
    doc = load_file(write_seed(Path(tempfile.mkdtemp()))).require()
    echo = run_asgi(echo_app())
    upstreams = {"inngest-workflow": echo.__enter__()}
    env = {"INNGEST_SIGNING_KEY": "sk-check-only", "INNGEST_EVENT_KEY": "ek-check-only"}
else:
    doc = load_text(MOCK, "mcp-check.yaml").require()
adapter = next(a for a in doc.capability.exposes if isinstance(a, m.ExposesMcp))
runtime = Runtime(doc, resolve_binds(doc, env), upstreams=upstreams)  # pools open on first use
with run_asgi(build_mcp_app(adapter, runtime, host="127.0.0.1", port=0)) as url:
    print(url + "/mcp", flush=True)
    threading.Event().wait()
PYTHON
)

start_server() {
  local which=$1 out="$WORK/$1.url"
  : >"$out"
  "$PY" -c "$LAUNCHER" "$ROOT" "$which" >"$out" 2>"$WORK/$which.log" &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    if [ -s "$out" ]; then URL=$(head -n1 "$out"); return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$which.log" >&2; die "$which: the server did not start"; }
    sleep 0.2
  done
  die "$which: the server did not print its URL within 30 s"
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# expect FILE PYTHON-EXPRESSION DESCRIPTION: evaluate the expression over the JSON result `r` in FILE.
expect() {
  "$PY" - "$1" "$2" <<'PYTHON' || die "$3"
import json, sys
r = json.load(open(sys.argv[1]))
r = r.get("result", r)
ok = eval(sys.argv[2], {"r": r})
if not ok:
    print(json.dumps(r, indent=1)[:3000], file=sys.stderr)
sys.exit(0 if ok else 1)
PYTHON
}

# --- checks ---------------------------------------------------------------------------------------------

check() {
  local which=$1 tool args bad names
  case $which in
    mock)
      tool=greet args='{"who":"Ada","tone":"warm"}' bad='{"tone":"warm"}'
      names="['greet']" ;;
    workflow)
      tool=list-apps args='{}' bad='{"cursor":5}'
      names="['list-apps','get-app','list-functions','get-function','invoke-function','send-event',"
      names+="'send-events','list-event-runs','list-runs','list-function-runs','get-run','get-run-trace',"
      names+="'rerun-run','cancel-run','cancel-function-runs']" ;;
    seed)
      tool=get-canonical-run args='{"runId":"run-123"}' bad='{}'
      names="['trigger-workflow','discover-functions','get-canonical-run','get-run-trace','cancel-workflow']" ;;
  esac
  start_server "$which"
  log "$which: serving at $URL"
  local era rc
  for era in legacy modern; do
    log "$which [$era]: inspector --method tools/list --strict"
    inspector "$URL" --protocol-era "$era" --method tools/list --strict --format json -q >"$WORK/list.json" \
      2>"$WORK/list.err" || { cat "$WORK/list.err" >&2; die "$which [$era]: Inspector tools/list (exit $?)"; }
    # --strict reports schema portability warnings on stderr without failing: none is allowed either
    if grep -q '^Warning' "$WORK/list.err"; then
      cat "$WORK/list.err" >&2
      die "$which [$era]: Inspector tools/list --strict warned about the schemas"
    fi
    expect "$WORK/list.json" "[t['name'] for t in r['tools']] == $names" "$which [$era]: tools/list names"
    cut -c1-400 "$WORK/list.json" >&2

    log "$which [$era]: inspector --method tools/call --tool-name $tool --tool-args-json '$args'"
    inspector "$URL" --protocol-era "$era" --method tools/call --tool-name "$tool" --tool-args-json "$args" \
      --format json -q >"$WORK/call.json" || die "$which [$era]: Inspector tools/call $tool (exit $?)"
    expect "$WORK/call.json" "not r.get('isError') and isinstance(r.get('structuredContent'), dict)" \
      "$which [$era]: tools/call $tool result"
    cut -c1-400 "$WORK/call.json" >&2

    log "$which [$era]: inspector tools/call with schema-invalid arguments (must be a tool error, exit 5)"
    rc=0
    inspector "$URL" --protocol-era "$era" --method tools/call --tool-name "$tool" --tool-args-json "$bad" \
      --format json -q >"$WORK/bad.json" 2>"$WORK/bad.err" || rc=$?
    [ "$rc" = 5 ] || { cat "$WORK/bad.json" "$WORK/bad.err" >&2; die "$which [$era]: invalid call exited $rc, not 5"; }
    grep -o "Invalid arguments for $tool[^\"]*" "$WORK/bad.json" "$WORK/bad.err" | head -n1 >&2 \
      || die "$which [$era]: the invalid call's message does not name the tool"
  done
  if [ "$which" = mock ]; then
    log "$which: inspector --method prompts/get --prompt-name welcome"
    inspector "$URL" --method prompts/get --prompt-name welcome --prompt-args who=Ada --format json -q \
      >"$WORK/prompt.json" || die "$which: Inspector prompts/get"
    expect "$WORK/prompt.json" "r['messages'][0]['content']['text'] == 'Welcome, Ada.'" "$which: prompts/get text"
  fi

  # --strict also fails best-practice warnings (a tool without an outputSchema, say): none is allowed.
  log "$which: mcpcheck $URL --legacy-probes --probe all --strict"
  "$CACHE/venv/bin/mcpcheck" "$URL" --legacy-probes --probe all --strict --no-color >&2 \
    || die "$which: mcpcheck (exit $?)"
  stop_server
}

main() {
  local targets=("$@")
  if [ ${#targets[@]} -eq 0 ]; then
    targets=(mock workflow)
    [ -d "$ROOT/../shared/seeds" ] && targets+=(seed)
  fi
  [ -x "$PY" ] || die "no Python at $PY (set PYTHON)"
  install_tools
  for which in "${targets[@]}"; do
    case $which in
      mock|workflow|seed) check "$which" ;;
      *) die "unknown target '$which' (mock, workflow or seed)" ;;
    esac
  done
  log "all MCP checks passed (${targets[*]})"
}

main "$@"
