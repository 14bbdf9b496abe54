#!/usr/bin/env bash
# tests/windows/store_models_under_wine.sh PROBE WINEPREFIX TESTMODEL — the history store and the model files on
# Windows (issue 13, docs/WINDOWS.md), under Wine, with %LOCALAPPDATA% in a folder whose name is not ASCII, driven by
# llmdesk-win-probe.exe's store/models modes (win_probe_stack.cpp). TESTMODEL is the Linux build's llmdesk-testmodel.
#   1. history-write: History::DefaultPath() is %LOCALAPPDATA%\llmdesk\history.db (platform::UserDataDir), created
#      there through SQLite's UTF-8 file name (not the ANSI code page): the file appears at that Unix path and Linux's
#      own SQLite reads the non-ASCII title back from it.
#   2. history-read, in a new process: the messages come back; the answer its dead writer left streaming reads
#      "incomplete" (the writer's identity is GetProcessTimes' creation time), one this live process streams stays
#      "streaming".
#   3. gguf: models::ReadGgufInfo reads a generated model in that folder (CreateFileW + ReadFile); a missing one is
#      "does not exist".
#   4. pull: models::Pull fetches the model over HTTP (libcurl-4.dll) into %LOCALAPPDATA%\llmdesk\models through its
#      part file (free space by GetDiskFreeSpaceExW, WriteFile, FlushFileBuffers, MoveFileExW): same bytes, the SHA-256
#      Windows' CNG computed equals sha256sum's, no part file left, and the pulled file's header reads.
# Every Wine run is bounded (timeout); the HTTP server and this prefix's Wine are stopped on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/wine_env.sh"  # fail, start_wine, stop_wine, winpath
PROBE=$(readlink -f "$1")
TESTMODEL=$3
[ -x "$TESTMODEL" ] || fail "llmdesk-testmodel is missing at $TESTMODEL: build the Linux tree first (scripts/setup)"
export LC_ALL=C.UTF-8  # Wine converts the Unix environment and paths with the locale's code page: UTF-8
start_wine "$2"
SCRATCH=$(mktemp -d)
http=""
cleanup() {
  local status=$?
  set +e
  if [ -n "$http" ]; then kill "$http" 2>/dev/null; wait "$http" 2>/dev/null; fi
  rm -rf "$SCRATCH"
  stop_wine
  exit "$status"
}
trap cleanup EXIT
LOCAL="$SCRATCH/Jörg データ/AppData Local"
mkdir -p "$LOCAL"
LOCALAPPDATA=$(winpath "$LOCAL")
# Wine sets %LOCALAPPDATA% from the prefix's profile, not from the Unix environment: the probe sets it (with-env).
probe() { timeout 180 "$WINE" "$PROBE" with-env "LOCALAPPDATA=$LOCALAPPDATA" "$@" 2>&1 </dev/null | tr -d '\r'; }

# --- 1. the history database under %LOCALAPPDATA% -----------------------------------------------------------
out=$(probe history-write) || fail "history-write: $out"
echo "$out"
grep -qxF "history $LOCALAPPDATA\\llmdesk\\history.db" <<<"$out" || fail "the database is not at %LOCALAPPDATA%\\llmdesk\\history.db: $out"
db="$LOCAL/llmdesk/history.db"
[ -f "$db" ] || fail "no $db on disk (the non-ASCII path went elsewhere): $(find "$SCRATCH" | head -20)"
[ "$(head -c 15 "$db")" = "SQLite format 3" ] || fail "$db is not an SQLite database"
id=$(sed -n 's/^conversation \([0-9]*\)$/\1/p' <<<"$out")
[ -n "$id" ] || fail "history-write printed no conversation id"
title=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select title from conversations where id=?", (int(sys.argv[2]),)).fetchone()[0])' "$db" "$id")
[ "$title" = "Grüße データ" ] || fail "Linux's SQLite reads the title as '$title'"
echo "Linux's SQLite reads the title: $title"

# --- 2. read back in a new process: the dead writer's answer is incomplete, a live one stays streaming -------
out=$(probe history-read "$id") || fail "history-read: $out"
echo "$out"
grep -qxF "title Grüße データ" <<<"$out" || fail "title not read back"
grep -qxF "message user complete What's 2+2, Jörg?" <<<"$out" || fail "the user message was not read back"
grep -qxF "message assistant incomplete 2+2 = 4 (partial)" <<<"$out" ||
  fail "the answer left streaming by the ended history-write was not marked incomplete"
grep -qxF "own streaming: streaming" <<<"$out" || fail "an answer this live process streams was marked as orphaned"

# --- 3. a generated GGUF in the non-ASCII folder ---------------------------------------------------------------
"$TESTMODEL" --out "$LOCAL/modèle.gguf" --ctx 1024 --tool-call calculator '{"expression":"2+2"}' >/dev/null ||
  fail "llmdesk-testmodel could not write a model"
out=$(probe gguf "$(winpath "$LOCAL/modèle.gguf")") || fail "gguf: $out"
echo "$out"
grep -qE '^gguf arch=llama quant=F16 ctx=1024 params=[1-9][0-9]* template=yes tools=yes$' <<<"$out" ||
  fail "the header read on Windows differs from what the generator wrote: $out"
out=$(probe gguf "$(winpath "$LOCAL/absent.gguf")") && fail "a missing model read without error: $out"
grep -qF "absent.gguf does not exist" <<<"$out" || fail "a missing model was not reported as missing: $out"

# --- 4. pull over HTTP into %LOCALAPPDATA%\llmdesk\models ---------------------------------------------------------
mkdir -p "$SCRATCH/serve"
cp "$LOCAL/modèle.gguf" "$SCRATCH/serve/pulled.gguf"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$SCRATCH/serve" >"$SCRATCH/http.log" 2>&1 &
http=$!
port=""
for _ in $(seq 1 100); do  # bounded: 10 s for the server to say its port
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$SCRATCH/http.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the HTTP server did not start: $(cat "$SCRATCH/http.log")"
out=$(probe pull "http://127.0.0.1:$port/pulled.gguf") || fail "pull: $out"
echo "$out"
pulled="$LOCAL/llmdesk/models/pulled.gguf"
grep -qxF "pulled $LOCALAPPDATA\\llmdesk\\models\\pulled.gguf size $(stat -c %s "$SCRATCH/serve/pulled.gguf") sha256 $(sha256sum "$SCRATCH/serve/pulled.gguf" | cut -c1-64)" <<<"$out" ||
  fail "the pull's path, size or SHA-256 is not the served file's"
cmp -s "$pulled" "$SCRATCH/serve/pulled.gguf" || fail "the pulled file's bytes differ from the served file's"
! ls "$LOCAL/llmdesk/models/" | grep -q '\.part$' || fail "a part file was left behind: $(ls "$LOCAL/llmdesk/models/")"
grep -qE '^gguf arch=llama quant=F16 ctx=1024 ' <<<"$out" || fail "the pulled file's header did not read"
echo "PASS"
