#!/usr/bin/env bash
# tests/windows/manager_under_wine.sh MANAGER_PROBE WINEPREFIX PROBE — the manager's Windows side (issue 13,
# docs/WINDOWS.md) under Wine, driven by llmdesk-win-manager-probe.exe (manager_probe.cpp), in a folder with a
# non-ASCII name (UTF-8 -> UTF-16 paths):
#   1. the one-instance lock (LockFileEx): a first process takes it and holds it; a second one is refused
#      (exit 3) naming the holder's PID; once the first has ended, a third takes it again.
#   2. the supervisor (WaitForMultipleObjects): a child that prints a line and exits — the backend fails with the
#      exit as its reason and the line is in its log; a child that prints and waits forever — its line seen while
#      it runs (woken by the output event alone), then stopped and its exit seen.
# Every wait is bounded; everything started is stopped; this prefix's Wine is ended at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/wine_env.sh"  # fail, start_wine, stop_wine, winpath
MPROBE=$(readlink -f "$1")
PROBE=$(readlink -f "$3")
start_wine "$2"
SCRATCH=$(mktemp -d)
holder=""
cleanup() {
  local status=$?
  set +e
  exec 3>&- 2>/dev/null
  if [ -n "$holder" ]; then kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; fi
  rm -rf "$SCRATCH"
  stop_wine
  exit "$status"
}
trap cleanup EXIT
mkdir -p "$SCRATCH/manager-Jörg"
DIR=$("$WINE" winepath -w "$SCRATCH/manager-Jörg" 2>/dev/null | tr -d '\r')
[ -n "$DIR" ] || fail "winepath gave no Windows path for $SCRATCH/manager-Jörg"
PROBE_WIN=$("$WINE" winepath -w "$PROBE" 2>/dev/null | tr -d '\r')

# --- 1. the one-instance lock between two processes -----------------------------------------------------------
mkfifo "$SCRATCH/hold"
"$WINE" "$MPROBE" lock "$DIR" <"$SCRATCH/hold" >"$SCRATCH/hold.log" 2>&1 &
holder=$!
exec 3>"$SCRATCH/hold"  # the holder's stdin: it keeps the lock until this closes
line=""
for _ in $(seq 1 600); do  # bounded: 60 s for Wine to start it
  line=$(tr -d '\r' < "$SCRATCH/hold.log" | grep -m1 '^locked ' || true)
  [ -n "$line" ] && break
  kill -0 "$holder" 2>/dev/null || fail "the first holder exited: $(cat "$SCRATCH/hold.log")"
  sleep 0.1
done
[ -n "$line" ] || fail "the first holder did not take the lock within 60 s: $(cat "$SCRATCH/hold.log")"
echo "first: $line"
pid=${line#locked }
set +e
second=$("$WINE" "$MPROBE" lock "$DIR" </dev/null 2>&1 | tr -d '\r')
rc=${PIPESTATUS[0]}
set -e
echo "second (exit $rc): $second"
[ "$rc" = 3 ] || fail "a second holder was not refused with AlreadyExists (exit $rc): $second"
grep -q "already running for the built-in defaults as PID $pid;" <<<"$second" ||
  fail "the refusal does not name the holder's PID $pid: $second"
exec 3>&-  # the first holder reads EOF and ends: the lock goes with it
for _ in $(seq 1 600); do kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
kill -0 "$holder" 2>/dev/null && fail "the first holder did not end within 60 s of its stdin closing"
wait "$holder" || fail "the first holder failed: $(cat "$SCRATCH/hold.log")"
holder=""
third=$("$WINE" "$MPROBE" lock "$DIR" </dev/null 2>&1 | tr -d '\r') || fail "the lock was not free after its holder ended: $third"
grep -q '^locked [0-9]*$' <<<"$third" || fail "the third process did not take the lock: $third"
echo "third: $third"

# --- 2. the supervisor sees a child's output and exit -----------------------------------------------------------
out=$(timeout 300 "$WINE" "$MPROBE" supervise "$DIR" "$PROBE_WIN" </dev/null 2>&1 | tr -d '\r') ||
  fail "supervise failed: $out"
echo "$out"
grep -q '^exits: output line seen$' <<<"$out" || fail "the child's output was not seen"
grep -q '^waits: output line seen while it runs$' <<<"$out" || fail "the running child's output was not seen"
grep -q '^waits: stopped' <<<"$out" || fail "the stopped child's exit was not seen"
grep -q '^PASS$' <<<"$out" || fail "supervise did not pass"
echo "PASS"
