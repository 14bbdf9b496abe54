#!/usr/bin/env bash
# tests/windows/process_under_wine.sh PROBE WINEPREFIX — process::Child's Windows side (process/process.h,
# child_win32.cpp) under Wine (issue 13, docs/WINDOWS.md), driven by llmdesk-win-probe.exe (win_probe.cpp), which waits
# only on the seam's exit_handle() and output_handle() with WaitForMultipleObjects, as a supervisor does:
#   1. spawn-stop: argv with spaces, quotes, trailing backslashes, %VAR%&|<>^ and UTF-8 reaches a child exactly
#      (CreateProcessW + QuoteWindowsCommandLine, no shell) and its exit 0 is detected; a program found on PATH
#      (`.exe` added) gets an environment addition and a working folder; a child's stdout and stderr lines arrive on
#      the output pipe (its event wakes the waiter: the child then waits forever, so nothing else could); the stop
#      ends it — by its Ctrl+Break handler (exit 66) or, where CTRL_BREAK_EVENT cannot be delivered, by
#      TerminateJobObject after the grace, which the test then names as a WINE GAP; ProcessStartTime knows the
#      running child and not the ended one.
#   2. spawn-hold, then `taskkill /PID parent /F`: the child, alive before, is gone after (the Job Object's
#      KILL_ON_JOB_CLOSE), checked on its process handle with a bounded wait.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/wine_env.sh"  # fail, start_wine, stop_wine, winpath
PROBE=$(readlink -f "$1")
start_wine "$2"
SCRATCH=$(mktemp -d)
holder=""
cleanup() {
  local status=$?
  set +e
  if [ -n "$holder" ]; then kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; fi
  rm -rf "$SCRATCH"
  stop_wine
  exit "$status"
}
trap cleanup EXIT

# --- 1. spawn, argv, pipes, stop -----------------------------------------------------------------------------
out=$("$WINE" "$PROBE" spawn-stop 2>&1 | tr -d '\r') || fail "spawn-stop failed: $out"
echo "$out"
grep -q '^argv round trip: exact$' <<<"$out" || fail "argv did not reach the child exactly"
grep -q '^echo-env exited with code 0$' <<<"$out" || fail "echo-env was not found on PATH or its exit was not read"
grep -q '^echo-env: env=Jörg$' <<<"$out" || fail "the environment addition did not reach the child"
grep -qi '^echo-env: cwd=C:\\windows$' <<<"$out" || fail "the child did not start in the working folder given"
grep -q '^output: child ready [0-9]*$' <<<"$out" || fail "no stdout line from the child"
grep -q '^output: child log line$' <<<"$out" || fail "no stderr line from the child"
grep -q '^start time while running: yes$' <<<"$out" || fail "ProcessStartTime did not find the running child"
grep -q '^start time after exit: none$' <<<"$out" || fail "ProcessStartTime still reports the ended child"
if grep -q '^output: child got Ctrl+Break$' <<<"$out"; then
  grep -q '^child exited with code 66, abnormal: no$' <<<"$out" || fail "the child's Ctrl+Break exit code was not read"
else
  grep -q '^child ended with status 0xC000013A (.*), abnormal: yes$' <<<"$out" || fail "the child was not stopped"
  echo "WINE GAP: GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT) did not reach the child's handler under" \
       "$("$WINE" --version) ($(grep '^stop:' <<<"$out" || echo 'sent without error')): it was ended by" \
       "TerminateJobObject after the grace; the Ctrl+Break path needs a real Windows console"
fi

# --- 2. taskkill /F of the parent kills the child -------------------------------------------------------------
"$WINE" "$PROBE" spawn-hold >"$SCRATCH/hold.log" 2>&1 &
holder=$!
line=""
for _ in $(seq 1 600); do  # bounded: 60 s for Wine to start both
  line=$(tr -d '\r' < "$SCRATCH/hold.log" | grep -m1 '^holding child' || true)
  [ -n "$line" ] && break
  kill -0 "$holder" 2>/dev/null || fail "spawn-hold exited: $(cat "$SCRATCH/hold.log")"
  sleep 0.1
done
[ -n "$line" ] || fail "spawn-hold did not start its child: $(cat "$SCRATCH/hold.log")"
echo "$line"
child=$(sed -n 's/^holding child \([0-9]*\) parent \([0-9]*\)$/\1/p' <<<"$line")
parent=$(sed -n 's/^holding child \([0-9]*\) parent \([0-9]*\)$/\2/p' <<<"$line")
state=$("$WINE" "$PROBE" gone-within "$child" 0 2>&1 | tr -d '\r' || true)
[ "$state" = alive ] || fail "the held child $child is not running before the kill: $state"
"$WINE" taskkill /PID "$parent" /F 2>&1 | tr -d '\r'
state=$("$WINE" "$PROBE" gone-within "$child" 20000 2>&1 | tr -d '\r' || true)
[ "$state" = gone ] || fail "child $child still running after taskkill /F of its parent $parent: $state"
echo "child $child gone after taskkill /F of parent $parent"
wait "$holder" 2>/dev/null || true
holder=""
echo "PASS"
