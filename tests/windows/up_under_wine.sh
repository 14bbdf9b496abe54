#!/usr/bin/env bash
# tests/windows/up_under_wine.sh ZIP TESTMODEL WINEPREFIX — `llmdesk.exe up` from the Windows zip under Wine (issue 13,
# acceptance 1 and 2):
#   1. The zip (scripts/package-windows) unpacks into a fresh folder; a model made by TESTMODEL (the Linux
#      llmdesk-testmodel: every chat turn answers exactly its --text) is configured on a port another Windows program
#      holds (a second llmdesk.exe's tool server).
#   2. `llmdesk.exe up` finds llama-server.exe beside itself, reports the held port, naming the holder llmdesk.exe —
#      or, where the OS reports no owner PID (Wine 8), printing that as a WINE GAP —, falls back to the next port of
#      the range and reaches ready; the gateway of that `up` answers a chat completion with the model's text.
#   2b. `llmdesk.exe config reload` (the control API: Windows has no SIGHUP) registers a model added to the file.
#   3. `taskkill /PID <llmdesk.exe> /F` (no chance to clean up) leaves no llama-server.exe: the engine's Job Object
#      (KILL_ON_JOB_CLOSE) ends it with llmdesk.exe; its port stops answering.
# A missing zip or TESTMODEL fails the test (never a skip). Every wait is bounded; everything started is stopped.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/wine_env.sh"  # fail, start_wine, stop_wine, winpath
[ $# = 3 ] || fail "usage: $0 ZIP TESTMODEL WINEPREFIX"
ZIP=$(readlink -f -m "$1")
TESTMODEL=$(readlink -f -m "$2")
[ -f "$ZIP" ] || fail "no $ZIP: make it with scripts/package-windows (scripts/setup-windows runs it)"
[ -x "$TESTMODEL" ] || fail "no $TESTMODEL: build the Linux tree first (cmake --build --preset release --target llmdesk-testmodel)"
start_wine "$3"
SCRATCH=$(mktemp -d)
up="" holder=""
# The llama-server.exe processes of this test: ps shows a Wine process by its Windows command line.
engines() { ps -eo pid=,args= | grep -F "$(winpath "$SCRATCH/app")\llama-server.exe" | grep -v grep | awk '{print $1}' || true; }
cleanup() {
  local status=$?
  set +e
  [ -n "$holder" ] && kill "$holder" 2>/dev/null
  [ -n "$up" ] && kill "$up" 2>/dev/null
  for pid in $(engines); do kill -9 "$pid"; done
  wait 2>/dev/null
  stop_wine
  rm -rf "$SCRATCH"
  exit "$status"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 1. the unpacked zip, a generated model, a held port --------------------------------------------------
mkdir "$SCRATCH/app"
unzip -q "$ZIP" -d "$SCRATCH/app" || fail "unzip $ZIP failed"
TEXT="Hello from llmdesk.exe up"
"$TESTMODEL" --out "$SCRATCH/hello.gguf" --text "$TEXT" >/dev/null || fail "$TESTMODEL could not write a model"
# The model's configured port is held by another Windows program: a second llmdesk.exe's tool server.
(cd "$SCRATCH/app" && exec "$WINE" ./llmdesk.exe tool-server --host 127.0.0.1 --port 0) >"$SCRATCH/holder.log" 2>&1 &
holder=$!
HELD=""
for _ in $(seq 1 600); do  # bounded: 120 s
  HELD=$(tr -d '\r' < "$SCRATCH/holder.log" | sed -n 's|.*MCP tool server on http://127.0.0.1:\([0-9]*\)/mcp.*|\1|p' | head -1)
  [ -n "$HELD" ] && break
  kill -0 "$holder" 2>/dev/null || break
  sleep 0.2
done
[ -n "$HELD" ] || fail "the port holder (llmdesk.exe tool-server) did not start: $(cat "$SCRATCH/holder.log")"
GATEWAY=$(free_port) TOOLS=$(free_port)
cat >"$SCRATCH/llm_backends.yaml" <<EOF
gateway: { host: 127.0.0.1, port: $GATEWAY }
tool_server: { host: 127.0.0.1, port: $TOOLS }
ports: { on_conflict: fallback, range: $HELD-$((HELD + 40)) }
models:
  hello: { model: '$(winpath "$SCRATCH/hello.gguf")', port: $HELD, args: [--ctx-size, "256"], stop_grace: 5 }
EOF

# --- 2. up: held port reported, fallback, ready, a chat answer through the gateway ------------------------------
(cd "$SCRATCH/app" && exec "$WINE" ./llmdesk.exe --config "$(winpath "$SCRATCH/llm_backends.yaml")" up hello) \
  >"$SCRATCH/up.log" 2>&1 &
up=$!
ready=""
for _ in $(seq 1 1500); do  # bounded: 300 s for Wine to start both exes and load the model on a loaded machine
  ready=$(tr -d '\r' < "$SCRATCH/up.log" | grep -m1 'hello .*-> ready' || true)
  [ -n "$ready" ] && break
  kill -0 "$up" 2>/dev/null || fail "llmdesk.exe up ended before ready: $(tr -d '\r' < "$SCRATCH/up.log" | tail -30)"
  sleep 0.2
done
[ -n "$ready" ] || fail "hello never reached ready: $(tr -d '\r' < "$SCRATCH/up.log" | tail -30)"
echo "$ready"
port=$(sed -n 's/.*ready at http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' <<<"$ready")
[ -n "$port" ] && [ "$port" != "$HELD" ] || fail "hello is not on another port than the held $HELD: $ready"
tr -d '\r' < "$SCRATCH/up.log" | grep -q "port $HELD " ||
  fail "up did not report the held port $HELD: $(tr -d '\r' < "$SCRATCH/up.log" | head -30)"
held_line=$(tr -d '\r' < "$SCRATCH/up.log" | grep -m1 "port $HELD ")
echo "held port reported: $held_line"
if grep -q "cannot see" <<<"$held_line"; then
  # Wine 8's GetExtendedTcpTable gives owner PID 0 for every socket (cli_under_wine.sh asks the API itself).
  echo "WINE GAP: the holder of port $HELD (llmdesk.exe tool-server) is not named: Wine reports no owner PID"
else
  grep -q "llmdesk.exe" <<<"$held_line" || fail "the held port's message does not name the holder llmdesk.exe: $held_line"
fi
[ -n "$(engines)" ] || fail "no llama-server.exe from $SCRATCH/app is running although hello is ready"
health=$(curl -sS --max-time 10 "http://127.0.0.1:$GATEWAY/health") || fail "the gateway on $GATEWAY does not answer"
LLMDESK_PID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$health")
reply=$(curl -sS --max-time 120 "http://127.0.0.1:$GATEWAY/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"hello","messages":[{"role":"user","content":"Say something"}],"max_tokens":32}') ||
  fail "chat completion through the gateway: curl failed"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); m=r["choices"][0]["message"]["content"]
assert m==sys.argv[2], m' "$reply" "$TEXT" || fail "the gateway did not answer \"$TEXT\": $reply"
echo "gateway answered: $TEXT"

# --- 2b. config reload through the control API (Windows has no SIGHUP): a model added to the file is registered ----
printf "  second: { model: '%s' }\n" "$(winpath "$SCRATCH/hello.gguf")" >>"$SCRATCH/llm_backends.yaml"
reload=$(cd "$SCRATCH/app" && timeout 120 "$WINE" ./llmdesk.exe --config "$(winpath "$SCRATCH/llm_backends.yaml")" \
  config reload </dev/null 2>&1 | tr -d '\r') || fail "config reload failed: $reload"
echo "config reload: $reload"
grep -q "added: second" <<<"$reload" || fail "config reload did not report the added model: $reload"

# --- 3. taskkill /F of llmdesk.exe leaves no llama-server.exe --------------------------------------------------
"$WINE" taskkill /PID "$LLMDESK_PID" /F </dev/null >"$SCRATCH/taskkill.log" 2>&1 ||
  fail "taskkill /PID $LLMDESK_PID /F failed: $(cat "$SCRATCH/taskkill.log")"
for _ in $(seq 1 300); do [ -z "$(engines)" ] && break; sleep 0.1; done  # bounded: 30 s
[ -z "$(engines)" ] || fail "llama-server.exe still runs 30 s after taskkill /F of llmdesk.exe (pid $LLMDESK_PID)"
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$port/health" && fail "port $port still answers after the kill"
echo "taskkill /F of llmdesk.exe (pid $LLMDESK_PID): no llama-server.exe left, port $port closed"
echo "PASS"
