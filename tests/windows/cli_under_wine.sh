#!/usr/bin/env bash
# tests/windows/cli_under_wine.sh EXE WINEPREFIX PROBE — llmdesk.exe under Wine (issue 13, docs/WINDOWS.md):
#   1. `config check` of a valid file (its model in a non-ASCII folder): exit 0, "ok (N model(s)"; the model gone: a
#      warning naming it; a broken file: exit 2 naming file:line:col.
#   2. `config check` without a file finds %APPDATA%\llmdesk\llm_backends.yaml (platform/user_dirs.h), Wine's own
#      %APPDATA% (the prefix's profile) as Windows gives it.
#   3. `tool-server` on 127.0.0.1 answers an MCP tools/call calculator "2+2" with 4 (curl on Linux talks to it).
#   3b. `tool-server` answers get_time for Europe/Berlin and UTC with the offset, abbreviation and date Linux's
#      own database gives (`TZ=... date`, asked before and after the call, so a change of minute or of DST in
#      between cannot fail it) and a UTC time between those two moments; an unknown zone is a tool error with a
#      did-you-mean; a copy of llmdesk.exe without the `tzdata` folder beside it answers with a tool error naming
#      the folder, and one whose tzdata has a cut file or an extra one with a tool error naming that file (checked
#      against tzdata\MANIFEST.sha256; docs/WINDOWS.md, "get_time on Windows").
#   4. A second `tool-server` on the same port fails, naming the holder's PID and image (GetExtendedTcpTable)
#      and `taskkill /PID N /F` — or, where the OS reports no owner PID (Wine 8 does not: the test prints it as a
#      WINE GAP by name), saying the holder is unseen with the netstat/taskkill advice; the image lookup of the
#      running server (QueryFullProcessImageNameW) is checked either way.
# Every wait is bounded; the server is stopped on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/wine_env.sh"  # fail, start_wine, stop_wine, winpath
EXE=$(readlink -f "$1")
PROBE=$(readlink -f "$3")  # llmdesk-win-probe.exe (win_probe.cpp)
start_wine "$2"
SCRATCH=$(mktemp -d)
server=""
appdata_config=""
cleanup() {  # keeps the script's exit status (a killed server's 143 is not the test's result)
  local status=$?
  set +e
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  if [ -n "$appdata_config" ]; then rm -f "$appdata_config"; fi
  rm -rf "$SCRATCH"
  stop_wine
  exit "$status"
}
trap cleanup EXIT
run() { "$WINE" "$EXE" "$@" 2>"$SCRATCH/err" | tr -d '\r'; }  # Windows text mode writes CRLF


# --- 1. config check -------------------------------------------------------------------------------
# The model file exists, in a folder whose name is not ASCII, named by a Windows path in the (UTF-8) YAML: no
# warning means the path went UTF-8 -> UTF-16 (platform::PathFromUtf8), not through the ANSI code page.
mkdir -p "$SCRATCH/modèles"
: > "$SCRATCH/modèles/small.gguf"
printf "tool_server: { host: 127.0.0.1, port: 8763 }\nmodels:\n  small: { model: '%s', port: 10500 }\n" \
  "$(winpath "$SCRATCH/modèles/small.gguf")" > "$SCRATCH/good.yaml"
out=$(run config check "$(winpath "$SCRATCH/good.yaml")") || fail "config check of a valid file exited $?: $(cat "$SCRATCH/err")"
echo "$out"
grep -q ': ok (1 model(s), 0 warning(s))' <<<"$out" || fail "config check printed: $out; $(tr -d '\r' < "$SCRATCH/err")"
# ... and a missing one is a warning (so the check above can fail).
rm "$SCRATCH/modèles/small.gguf"
out=$(run config check "$(winpath "$SCRATCH/good.yaml")") || fail "config check exited $?: $(cat "$SCRATCH/err")"
grep -q ': ok (1 model(s), 1 warning(s))' <<<"$out" || fail "a missing model file was not a warning: $out"
grep -q "modèles.small.gguf' does not exist yet" "$SCRATCH/err" || fail "warning did not name the file: $(cat "$SCRATCH/err")"

printf 'models:\n  small: { model: a.gguf, prot: 10500 }\n' > "$SCRATCH/bad.yaml"
set +e
run config check "$(winpath "$SCRATCH/bad.yaml")" >/dev/null
code=${PIPESTATUS[0]}
set -e
tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/bad.err"
[ "$code" = 2 ] || fail "config check of a broken file exited $code, wanted 2"
grep -q 'bad.yaml:2:.*prot.*did you mean .port' "$SCRATCH/bad.err" || fail "no file:line and did-you-mean in: $(cat "$SCRATCH/bad.err")"

# --- 2. the config in %APPDATA%\llmdesk -----------------------------------------------------------------
# Wine sets %APPDATA% itself (from the prefix's user profile; a value from the Linux environment is replaced), so
# the test asks Windows where it is (cmd here is only the test's way to print a variable; llmdesk never uses it)
# and puts the file there, as a Windows user's would be.
appdata_win=$("$WINE" cmd /c echo %APPDATA% 2>/dev/null | tr -d '\r')
[ -n "$appdata_win" ] && [ "$appdata_win" != "%APPDATA%" ] || fail "Wine gave no %APPDATA%"
appdata=$(winepath -u "$appdata_win" 2>/dev/null) || fail "winepath -u $appdata_win failed"
[ -e "$appdata/llmdesk/llm_backends.yaml" ] && fail "$appdata/llmdesk/llm_backends.yaml exists before the test: remove it"
appdata_config="$appdata/llmdesk/llm_backends.yaml"  # from here on the test's own: cleanup removes it
mkdir -p "$appdata/llmdesk"
printf 'models:\n  one: { model: a.gguf }\n  two: { model: b.gguf, port: 10501 }\n' > "$appdata_config"
out=$(cd "$SCRATCH" && run config check) || fail "config check via APPDATA exited $?: $(cat "$SCRATCH/err")"
rm -f "$appdata_config"
echo "$out"
grep -qF "$appdata_win\\llmdesk\\llm_backends.yaml: ok (2 model(s)" <<<"$out" || fail "did not find the APPDATA config: $out"

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

# --- 3b. get_time, checked against Linux's own time zone database --------------------------------------------
# call_tool PORT NAME ARGUMENTS-JSON: the JSON-RPC reply of an MCP tools/call.
call_tool() {
  curl -sS --max-time 30 "http://127.0.0.1:$1/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H "Mcp-Name: $2" \
    -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"'"$2"'","arguments":'"$3"',"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
}
# Linux's answer for a zone: "epoch offset(+hh:mm) abbreviation date(YYYY-MM-DD)".
linux_time() { TZ="$1" date '+%s %:z %Z %F'; }
check_time() {  # ZONE
  local before reply after
  before=$(linux_time "$1")
  reply=$(call_tool "$port" get_time '{"timezone":"'"$1"'"}')
  after=$(linux_time "$1")
  echo "tools/call get_time $1 -> $reply"
  python3 - "$reply" "$before" "$after" <<'PY' || fail "get_time $1 does not agree with Linux's database (Linux said: $before / $after)"
import datetime, json, sys
r = json.loads(sys.argv[1])["result"]
assert not r.get("isError"), r
s = r["structuredContent"]
before, after = (a.split() for a in sys.argv[2:4])
# The offset, abbreviation and local date are Linux's, as it was before or after the call.
for key, i in (("utc_offset", 1), ("abbreviation", 2)):
    assert s[key] in (before[i], after[i]), (key, s[key], before[i], after[i])
assert s["local_time"][:10] in (before[3], after[3]), s["local_time"]
utc = datetime.datetime.strptime(s["utc_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
local = datetime.datetime.fromisoformat(s["local_time"])
assert int(before[0]) - 1 <= utc.timestamp() <= int(after[0]) + 1, (s["utc_time"], before[0], after[0])
assert local.timestamp() == utc.timestamp(), (s["local_time"], s["utc_time"])
assert local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:] == s["utc_offset"], s
PY
}
check_time Europe/Berlin
check_time UTC
reply=$(call_tool "$port" get_time '{"timezone":"europe/berlinn"}')
echo "tools/call get_time europe/berlinn -> $reply"
python3 -c 'import json,sys; r=json.loads(sys.argv[1])["result"]; t=r["content"][0]["text"]
assert r.get("isError") is True, r
assert "unknown time zone '"'"'europe/berlinn'"'"'" in t and "did you mean '"'"'Europe/Berlin'"'"'" in t, t' "$reply" ||
  fail "an unknown zone was not a tool error with a did-you-mean"

# A copy of llmdesk.exe in its own folder, serving on a port of its own: prints that port. The caller stops it.
serve_copy() {  # serve_copy NAME: $SCRATCH/NAME/llmdesk.exe (prepared by the caller)
  "$WINE" "$SCRATCH/$1/llmdesk.exe" tool-server --host 127.0.0.1 --port 0 >"$SCRATCH/$1.log" 2>&1 &
  copy=$!
  local p=""
  for _ in $(seq 1 600); do  # bounded: 60 s
    p=$(tr -d '\r' < "$SCRATCH/$1.log" | sed -n 's|.*MCP tool server on http://127.0.0.1:\([0-9]*\)/mcp.*|\1|p' | head -1)
    [ -n "$p" ] && break
    kill -0 "$copy" 2>/dev/null || fail "tool-server in $1 exited: $(cat "$SCRATCH/$1.log")"
    sleep 0.1
  done
  [ -n "$p" ] || { kill "$copy"; fail "tool-server in $1 did not report its port"; }
  copy_port=$p
}
# get_time in that copy must be a tool error whose text has NEEDLE, and calculator must still answer (no crash).
expect_time_error() {  # expect_time_error NAME NEEDLE
  serve_copy "$1"
  local reply calc
  reply=$(call_tool "$copy_port" get_time '{"timezone":"UTC"}')
  echo "tools/call get_time UTC in $1 -> $reply"
  calc=$(call_tool "$copy_port" calculator '{"expression":"2+2"}')
  kill "$copy" 2>/dev/null; wait "$copy" 2>/dev/null || true
  python3 -c 'import json,sys; r=json.loads(sys.argv[1])["result"]; t=r["content"][0]["text"]
assert r.get("isError") is True, r
assert sys.argv[2] in t, t' "$reply" "$2" || fail "get_time in $1 was not a tool error saying: $2"
  python3 -c 'import json,sys; assert json.loads(sys.argv[1])["result"]["content"][0]["text"] == "4"' "$calc" ||
    fail "the server in $1 stopped answering after get_time: $calc"
}
# Without the tzdata folder: a tool error naming it.
mkdir -p "$SCRATCH/bare"
cp "$EXE" "$SCRATCH/bare/llmdesk.exe"
expect_time_error bare "'tzdata' beside llmdesk.exe ($(winpath "$SCRATCH/bare/tzdata")"
# A damaged database (a file cut mid-line: date/tz would wait on itself forever) and a file the zip did not ship:
# tool errors naming the file, checked against MANIFEST.sha256 before date/tz reads anything.
mkdir -p "$SCRATCH/cut" "$SCRATCH/extra"
cp -r "$EXE" "$(dirname "$EXE")/tzdata" "$SCRATCH/cut/"
head -c 7001 "$(dirname "$EXE")/tzdata/africa" > "$SCRATCH/cut/tzdata/africa"
expect_time_error cut "is damaged: 'africa' is not what the zip shipped"
cp -r "$EXE" "$(dirname "$EXE")/tzdata" "$SCRATCH/extra/"
printf 'Zone\n' > "$SCRATCH/extra/tzdata/systemv"
expect_time_error extra "has a file 'systemv' the zip did not ship"

# --- 4. the port is taken: the second server names the holder -------------------------------------------
# What Windows itself reports as the owner, asked directly (llmdesk-win-probe): a real PID must appear in
# llmdesk's message with the holder's image; 0 is the API not knowing (Wine 8: wineserver holds every socket's
# unix fd, so nsiproxy maps none to a process), and then the message must say the holder is unseen and how to
# find it. The image lookup (QueryFullProcessImageNameW) is checked on its own against the running server.
owner=$("$WINE" "$PROBE" port-owner "$port" 2>/dev/null | tr -d '\r') || fail "probe port-owner $port: $owner"
echo "GetExtendedTcpTable for port $port: $owner"
set +e
run tool-server --host 127.0.0.1 --port "$port" >/dev/null
code=${PIPESTATUS[0]}
set -e
tr -d '\r' < "$SCRATCH/err" | tee "$SCRATCH/taken.err"
[ "$code" = 1 ] || fail "a second tool-server on port $port exited $code, wanted 1"
if [ "$owner" = "owner-pid 0" ]; then
  echo "WINE GAP: GetExtendedTcpTable(TCP_TABLE_OWNER_PID_LISTENER) gives dwOwningPid 0 for port $port under" \
       "$("$WINE" --version): the holder's PID cannot be named here (it is on Windows); checking the unseen-holder message"
  grep -q "port $port is held by a process llmdesk cannot see" "$SCRATCH/taken.err" || fail "unseen holder not said"
  grep -q "netstat -ano | findstr :$port" "$SCRATCH/taken.err" || fail "no netstat advice"
  grep -q "taskkill /PID <pid> /F" "$SCRATCH/taken.err" || fail "no taskkill advice"
else
  pid=${owner#owner-pid }
  grep -q "port $port is held by PID $pid (.*llmdesk.exe)" "$SCRATCH/taken.err" || fail "holder PID $pid not named"
  grep -q "taskkill /PID $pid /F" "$SCRATCH/taken.err" || fail "no taskkill advice"
fi
image=$("$WINE" "$PROBE" image-of llmdesk.exe 2>/dev/null | tr -d '\r') || fail "probe image-of llmdesk.exe: $image"
echo "image lookup: $image"
grep -qE '^pid [1-9][0-9]* image [A-Za-z]:\\.*\\llmdesk\.exe$' <<<"$image" || fail "image of the server not named: $image"
echo "PASS"
