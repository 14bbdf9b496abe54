// process::QuoteWindowsCommandLine: the Microsoft C runtime's argv rules, checked by a splitter written from those
// rules (below) on awkward arguments, and against fixed strings for the cases the rules name. The round trip through
// a real Windows child (CommandLineToArgvW) runs under Wine: tests/windows/process_under_wine.sh.
#include "process/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmdesk::process {
namespace {

// The runtime's split of the arguments after the program: whitespace outside quotes separates; 2n backslashes
// before '"' are n backslashes and the quote toggles quoting; 2n+1 are n backslashes and a literal '"'; other
// backslashes are literal; "" inside quotes is a literal quote (post-2008 runtime).
std::vector<std::string> SplitLikeTheRuntime(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  // argv[0]: up to the first whitespace outside quotes; quotes only group.
  std::string program;
  bool quoted = false;
  for (; i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t')); ++i) {
    if (line[i] == '"') quoted = !quoted;
    else program += line[i];
  }
  out.push_back(program);
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string arg;
    quoted = false;
    for (; i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t')); ++i) {
      size_t backslashes = 0;
      while (i < line.size() && line[i] == '\\') ++backslashes, ++i;
      if (i < line.size() && line[i] == '"') {
        arg.append(backslashes / 2, '\\');
        if (backslashes % 2) {
          arg += '"';
        } else if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
          arg += '"';
          ++i;
        } else {
          quoted = !quoted;
        }
      } else {
        arg.append(backslashes, '\\');
        if (i >= line.size()) break;
        if (!quoted && (line[i] == ' ' || line[i] == '\t')) break;
        arg += line[i];
      }
    }
    out.push_back(arg);
  }
  return out;
}

TEST(WindowsCommandLine, PlainArgumentsStayAsTheyAre) {
  auto line = QuoteWindowsCommandLine({"C:\\llmdesk\\llama-server.exe", "--port", "10500", "-m", "C:\\m\\a.gguf"});
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  EXPECT_EQ(*line, "C:\\llmdesk\\llama-server.exe --port 10500 -m C:\\m\\a.gguf");
}

TEST(WindowsCommandLine, TheRulesNamedCases) {
  auto q = [](std::string arg) { return QuoteWindowsCommandLine({"p", std::move(arg)}).value(); };
  EXPECT_EQ(q(""), "p \"\"");                          // empty: still an argument
  EXPECT_EQ(q("a b"), "p \"a b\"");                    // space: quoted
  EXPECT_EQ(q("say \"hi\""), "p \"say \\\"hi\\\"\"");  // quotes: escaped
  EXPECT_EQ(q("C:\\dir\\"), "p C:\\dir\\");            // trailing backslash, no quoting needed: as is
  EXPECT_EQ(q("C:\\my dir\\"), "p \"C:\\my dir\\\\\"");  // trailing backslash before the closing quote: doubled
  EXPECT_EQ(q("a\\\\\"b"), "p \"a\\\\\\\\\\\"b\"");      // 2 backslashes then a quote: 5 backslashes and the quote
  EXPECT_EQ(q("%PATH% & del x | y ^"), "p \"%PATH% & del x | y ^\"");  // no shell: nothing else is special
}

TEST(WindowsCommandLine, AwkwardArgumentsRoundTrip) {
  const std::vector<std::string> argv = {"C:\\Program Files\\llmdesk\\llama-server.exe",
                                         "",
                                         " ",
                                         "a\tb",
                                         "\"",
                                         "\\",
                                         "\\\\",
                                         "\\\"",
                                         "x\\\\\"y\\",
                                         "ends with \\\\",
                                         "--model=C:\\Users\\Jörg\\models\\a b.gguf",
                                         "{\"json\": [1, \"two\"]}",
                                         "%USERPROFILE%&|<>^"};
  auto line = QuoteWindowsCommandLine(argv);
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  EXPECT_EQ(SplitLikeTheRuntime(*line), argv) << *line;
}

TEST(WindowsCommandLine, RefusesWhatWindowsCannotPass) {
  EXPECT_EQ(QuoteWindowsCommandLine({}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(QuoteWindowsCommandLine({"a\"b.exe"}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(QuoteWindowsCommandLine({"a.exe", std::string("x\0y", 3)}).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace llmdesk::process
