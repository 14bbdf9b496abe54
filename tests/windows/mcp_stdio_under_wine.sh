#!/usr/bin/env bash
# tests/windows/mcp_stdio_under_wine.sh EXE WINEPREFIX PROBE — MCP over stdio on Windows, under Wine (issue 13,
# docs/WINDOWS.md): llmdesk.exe as the stdio client (`mcp call`, process::Child with Stdio::kPipes: overlapped stdin,
# stdout and stderr pipes) and as the stdio server (`mcp-stdio`, mcp/stdio_io_win32.cpp):
#   1. `mcp call calc calculator {"expression":"2+2"}` against `llmdesk.exe mcp-stdio` (a server under mcp_servers:
#      that llmdesk.exe starts itself): prints 4, exit 0; the server is gone afterwards (none is left running).
#   2. a tool error (calculator "2+") is reported: exit 1, the error on stderr.
#   3. a server that exits at once: exit 1, the message names its exit code and its last stderr line (the stderr pipe).
#   4. `mcp-stdio` answering a tools/call piped in from Linux: the reply line is exact ("\n", no "\r": no text mode),
#      and end of input ends it with exit 0.
#   3b. A batch file as a server's command (by path, or a bare name found as NAME.cmd on PATH, as npx is) is refused
#      with the advice to write `cmd /c ...`, never run through cmd.exe implicitly.
# Every wait is bounded (timeout); Wine is stopped on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/wine_env.sh"  # fail, start_wine, stop_wine, winpath
EXE=$(readlink -f "$1")
PROBE=$(readlink -f "$3")
start_wine "$2"
SCRATCH=$(mktemp -d)
cleanup() {
  local status=$?
  set +e
  rm -rf "$SCRATCH"
  stop_wine
  exit "$status"
}
trap cleanup EXIT
# llmdesk.exe with a bound: a hang fails the test instead of blocking ctest.
run() { timeout 120 "$WINE" "$EXE" --config "$(winpath "$SCRATCH/config.yaml")" "$@" 2>"$SCRATCH/err" | tr -d '\r'; }

# The server llmdesk.exe starts: itself, `mcp-stdio`; `broken` exits at once with CLI11's complaint on stderr.
cat > "$SCRATCH/config.yaml" <<YAML
mcp_servers:
  calc: { command: '$(winpath "$EXE")', args: [mcp-stdio] }
  broken: { command: '$(winpath "$EXE")', args: [--no-such-option] }
  script: { command: '$(winpath "$SCRATCH/bin/tool.cmd")' }
  npxlike: { command: tool }
YAML
mkdir -p "$SCRATCH/bin"
printf '@echo off\r\necho never run\r\n' > "$SCRATCH/bin/tool.cmd"

# --- 1. mcp call calculator 2+2 over stdio ------------------------------------------------------------
out=$(run mcp call calc calculator '{"expression":"2+2"}') || fail "mcp call exited $?: $out $(tr -d '\r' < "$SCRATCH/err")"
echo "mcp call calc calculator 2+2 -> $out"
[ "$out" = "4" ] || fail "calculator over stdio answered '$out', wanted 4; stderr: $(tr -d '\r' < "$SCRATCH/err")"
left=$("$WINE" "$PROBE" image-of llmdesk.exe 2>/dev/null | tr -d '\r' || true)
[ "$left" = "no process" ] || fail "an llmdesk.exe is still running after mcp call: $left"

# --- 2. a tool error -------------------------------------------------------------------------------------
set +e
out=$(run mcp call calc calculator '{"expression":"2+"}')
code=$?
set -e
tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/tool.err"
[ "$code" = 1 ] || fail "a tool error exited $code, wanted 1 (stdout: $out)"
[ -s "$SCRATCH/tool.err" ] || fail "a tool error printed nothing on stderr"

# --- 3. a server that exits at once ---------------------------------------------------------------------
set +e
run mcp call broken calculator '{"expression":"2+2"}' >/dev/null
code=${PIPESTATUS[0]}
set -e
tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/broken.err"
[ "$code" = 1 ] || fail "a server that exits at once: exit $code, wanted 1"
grep -q "exited (exited with code" "$SCRATCH/broken.err" || fail "the exit of the server was not named"
# CLI11's last line, which only the server's stderr pipe carries (the command line in the message names the option).
grep -q "^  Run with --help for more information.$" "$SCRATCH/broken.err" ||
  fail "the server's last stderr line was not shown (stderr pipe)"

# --- 3b. batch files (npx is npx.cmd on Windows) are never started through cmd.exe implicitly ---------------------
for server in script npxlike; do
  set +e
  WINEPATH=$(winpath "$SCRATCH/bin") run mcp call "$server" calculator '{"expression":"2+2"}' >/dev/null
  code=${PIPESTATUS[0]}
  set -e
  tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/$server.err"
  [ "$code" = 1 ] || fail "a batch file as $server's command: exit $code, wanted 1"
  grep -q "batch file.*cmd with the arguments /c" "$SCRATCH/$server.err" || fail "$server: no batch-file advice"
done

# --- 4. mcp-stdio serving a request piped in from Linux ---------------------------------------------------
request='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"calculator","arguments":{"expression":"6*7"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
printf '%s\n' "$request" | timeout 120 "$WINE" "$EXE" --config "$(winpath "$SCRATCH/config.yaml")" mcp-stdio \
  >"$SCRATCH/stdio.out" 2>"$SCRATCH/stdio.err" || fail "mcp-stdio exited $? at end of input: $(cat "$SCRATCH/stdio.err")"
reply=$(head -1 "$SCRATCH/stdio.out")
echo "mcp-stdio tools/call 6*7 -> $reply"
if grep -q $'\r' "$SCRATCH/stdio.out"; then fail "mcp-stdio wrote a \\r (text mode): $(od -c "$SCRATCH/stdio.out" | head -3)"; fi
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["id"]==7 and r["result"]["content"][0]["text"]=="42", r' \
  "$reply" || fail "mcp-stdio did not answer 42"
echo "PASS"
