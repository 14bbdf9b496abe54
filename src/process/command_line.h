// process/command_line.h — an argv as the one command-line string Windows' CreateProcessW takes.
//
// Windows passes a child a single string; the child's C runtime (and CommandLineToArgvW) splits it back into
// argv by the Microsoft rules: whitespace separates, "..." groups, 2n backslashes before a quote are n
// backslashes and the quote delimits, 2n+1 are n backslashes and a literal quote, backslashes elsewhere are
// literal. QuoteWindowsCommandLine quotes so that the split gives back exactly `argv`. No shell is involved
// (never `cmd /c`), so `&`, `|`, `%VAR%` and `^` are ordinary characters.
// Portable (pure string work): tested on Linux and, round trip through a real child, under Wine.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace llmdesk::process {

// UTF-8 in, UTF-8 out (the caller widens it for CreateProcessW). argv[0], the program, follows the rules the
// runtime uses for it (quotes only group; no escapes), so it must not contain '"'. InvalidArgument for an empty
// argv, a '"' in argv[0], or a NUL byte anywhere (it would end the string early).
Result<std::string> QuoteWindowsCommandLine(const std::vector<std::string>& argv);

}  // namespace llmdesk::process
