#include "process/command_line.h"

#include <string_view>

namespace llmdesk::process {
namespace {

bool NeedsQuotes(std::string_view arg) {
  return arg.empty() || arg.find_first_of(" \t\n\v\"") != std::string_view::npos;
}

// One argument after the first, by the runtime's rules (see the header).
void AppendArgument(std::string& out, std::string_view arg) {
  if (!NeedsQuotes(arg)) {
    out += arg;  // backslashes not followed by a quote are literal
    return;
  }
  out += '"';
  size_t backslashes = 0;
  for (char c : arg) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    // Before a quote, every backslash is doubled and the quote escaped; before anything else they stay as they are.
    out.append(c == '"' ? backslashes * 2 + 1 : backslashes, '\\');
    backslashes = 0;
    out += c;
  }
  out.append(backslashes * 2, '\\');  // before the closing quote: doubled, so it still closes
  out += '"';
}

}  // namespace

Result<std::string> QuoteWindowsCommandLine(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("no program to run (empty argv)");
  for (const auto& arg : argv) {
    if (arg.find('\0') != std::string::npos)
      return Status::InvalidArgument("an argument of " + argv[0] + " contains a NUL byte, which Windows cannot pass");
  }
  const std::string& program = argv[0];
  if (program.find('"') != std::string::npos)
    return Status::InvalidArgument("the program name " + program + " contains '\"', which Windows cannot pass");
  std::string out;
  // The program: quoted when it has whitespace (or is empty); its backslashes are always literal.
  if (program.empty() || program.find_first_of(" \t") != std::string::npos) out += '"' + program + '"';
  else out += program;
  for (size_t i = 1; i < argv.size(); ++i) {
    out += ' ';
    AppendArgument(out, argv[i]);
  }
  return out;
}

}  // namespace llmdesk::process
