#!/usr/bin/env bash
# tests/windows/cli_under_wine.sh EXE WINEPREFIX — llmdesk.exe under Wine (issue 13, docs/WINDOWS.md):
#   1. `config check` of a valid file: exit 0, "ok (N model(s)"; of a broken one: exit 2 naming file:line:col.
#   2. `config check` without a file finds %APPDATA%\llmdesk\llm_backends.yaml (platform/user_dirs.h).
#   3. `tool-server` on 127.0.0.1 answers an MCP tools/call calculator "2+2" with 4 (curl on Linux talks to it).
#   4. A second `tool-server` on the same port fails, naming the holder's PID and image (GetExtendedTcpTable)
#      and `taskkill /PID N /F`.
# Every wait is bounded; the server is stopped on exit.
set -euo pipefail
EXE=$(readlink -f "$1")
export WINEPREFIX=$(readlink -f -m "$2")
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="  # no Mono/Gecko install dialogs
WINE=$(command -v wine64 || command -v wine || command -v /usr/lib/wine/wine64)
SCRATCH=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { "$WINE" "$EXE" "$@" 2>"$SCRATCH/err" | tr -d '\r'; }  # Windows text mode writes CRLF

# A Windows path for a file in SCRATCH: Wine maps Z: to /.
winpath() { printf 'Z:%s' "$(printf '%s' "$1" | tr '/' '\\')"; }

# --- 1. config check -------------------------------------------------------------------------------
cat > "$SCRATCH/good.yaml" <<'YAML'
tool_server: { host: 127.0.0.1, port: 8763 }
models:
  small: { model: C:/models/small.gguf, port: 10500 }
YAML
out=$(run config check "$(winpath "$SCRATCH/good.yaml")") || fail "config check of a valid file exited $?: $(cat "$SCRATCH/err")"
echo "$out"
grep -q ': ok (1 model(s), 0 warning(s))' <<<"$out" || fail "config check printed: $out"

printf 'models:\n  small: { model: a.gguf, prot: 10500 }\n' > "$SCRATCH/bad.yaml"
set +e
run config check "$(winpath "$SCRATCH/bad.yaml")" >/dev/null
code=${PIPESTATUS[0]}
set -e
tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/bad.err"
[ "$code" = 2 ] || fail "config check of a broken file exited $code, wanted 2"
grep -q 'bad.yaml:2:.*prot.*did you mean .port' "$SCRATCH/bad.err" || fail "no file:line and did-you-mean in: $(cat "$SCRATCH/bad.err")"

# --- 2. the config in %APPDATA%\llmdesk -----------------------------------------------------------------
appdata="$SCRATCH/appdata"
mkdir -p "$appdata/llmdesk"
printf 'models:\n  one: { model: a.gguf }\n  two: { model: b.gguf, port: 10501 }\n' > "$appdata/llmdesk/llm_backends.yaml"
out=$(cd "$SCRATCH" && APPDATA=$(winpath "$appdata") WINEDEBUG=-all run config check) ||
  fail "config check via APPDATA exited $?: $(cat "$SCRATCH/err")"
echo "$out"
grep -qi 'appdata.llmdesk.llm_backends.yaml: ok (2 model(s)' <<<"$out" || fail "did not find the APPDATA config: $out"

# --- 3. tool-server answers calculator 2+2 ---------------------------------------------------------------
"$WINE" "$EXE" tool-server --host 127.0.0.1 --port 0 >"$SCRATCH/server.log" 2>&1 &
server=$!
port=""
for _ in $(seq 1 600); do  # bounded: 60 s for Wine to start the exe (the first run makes the prefix)
  port=$(tr -d '\r' < "$SCRATCH/server.log" | sed -n 's|.*MCP tool server on http://127.0.0.1:\([0-9]*\)/mcp.*|\1|p' | head -1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || fail "tool-server exited: $(cat "$SCRATCH/server.log")"
  sleep 0.1
done
[ -n "$port" ] || fail "tool-server did not report its port: $(cat "$SCRATCH/server.log")"
tr -d '\r' < "$SCRATCH/server.log"
body='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calculator","arguments":{"expression":"2+2"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
reply=$(curl -sS --max-time 30 "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
  -H 'Mcp-Method: tools/call' -H 'Mcp-Name: calculator' -d "$body")
echo "tools/call calculator 2+2 -> $reply"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["result"]["content"][0]["text"]=="4", r' "$reply" ||
  fail "calculator did not answer 4"

# --- 4. the port is taken: the second server names the holder -------------------------------------------
set +e
run tool-server --host 127.0.0.1 --port "$port" >/dev/null
code=${PIPESTATUS[0]}
set -e
tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/taken.err"
[ "$code" = 1 ] || fail "a second tool-server on port $port exited $code, wanted 1"
grep -q "port $port is held by PID [0-9]* (.*llmdesk.exe)" "$SCRATCH/taken.err" || fail "holder not named"
grep -q "taskkill /PID [0-9]* /F" "$SCRATCH/taken.err" || fail "no taskkill advice"
echo "PASS"
