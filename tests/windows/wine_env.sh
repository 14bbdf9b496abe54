# tests/windows/wine_env.sh — sourced by the *_under_wine.sh tests: one way to start, address and stop a Wine prefix.
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_wine PREFIX: exports WINEPREFIX (made on first use) and a quiet Wine (no debug output, no Mono/Gecko install
# dialogs); sets WINE and WINESERVER. Wine's server and its service processes outlive the programs that start them and
# would keep the script's stdout open (ctest waits for it to close): they start here first, their output elsewhere;
# the server ends 2 s after the prefix's last Windows process.
start_wine() {
  WINEPREFIX=$(readlink -f -m "$1"); export WINEPREFIX
  export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  WINE=$(command -v wine64 || command -v wine || command -v /usr/lib/wine/wine64)
  WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
  "$WINESERVER" -p 2 </dev/null >/dev/null 2>&1 || true  # fails when one already runs: fine
  "$WINE" cmd /c exit </dev/null >/dev/null 2>&1 || fail "Wine does not start (WINEPREFIX=$WINEPREFIX)"
}

# stop_wine: ends this prefix's Wine (its services would keep wineserver running).
stop_wine() { "$WINESERVER" -k 2>/dev/null; }

# winpath FILE: the Windows path of a Linux file (Wine maps Z: to /).
winpath() { printf 'Z:%s' "$(printf '%s' "$1" | tr '/' '\\')"; }
