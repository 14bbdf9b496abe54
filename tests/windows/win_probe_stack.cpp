// llmdesk-win-probe's modes for the store and models components on Windows (tests/windows/stack_under_wine.sh),
// run with their paths and text as Windows gives them: arguments from GetCommandLineW, %LOCALAPPDATA% through
// platform::UserDataDir (_wgetenv), so a non-ASCII folder travels UTF-16 → UTF-8 → the component → UTF-16. Wine
// sets %LOCALAPPDATA% from its prefix's profile whatever the Unix environment says, so the script gives it as
// `with-env LOCALAPPDATA=PATH MODE ...` (set with _wputenv before the mode runs, as a parent's environment would be):
//   history-write         opens History::DefaultPath(), writes a conversation (non-ASCII title and text) and leaves
//                         one assistant answer streaming as this process exits: "history PATH", "conversation ID"
//   history-read ID       opens it again in a new process: the conversation's title, then one line per message
//                         "message ROLE STATUS CONTENT" (the dead writer's answer must read back "incomplete"), then
//                         "own streaming: STATUS" for an answer this live process streams (must stay "streaming")
//   gguf PATH             models::ReadGgufInfo: "gguf arch=... quant=... ctx=N params=N template=yes|no tools=yes|no"
//   pull URL              models::Pull into the library under %LOCALAPPDATA%: "pulled PATH size N sha256 HEX", then
//                         the gguf line of the pulled file
#include <windows.h>

#include <shellapi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "models/gguf.h"
#include "models/library.h"
#include "models/pull.h"
#include "platform/user_dirs.h"
#include "platform/utf16.h"
#include "store/history.h"

namespace {

using llmdesk::platform::Narrow;
using llmdesk::platform::PathFromUtf8;
using llmdesk::platform::PathToUtf8;

std::vector<std::string> WideArgs() {  // UTF-8 copies of argv as Windows has them (main's argv is the ANSI page)
  int count = 0;
  wchar_t** args = CommandLineToArgvW(GetCommandLineW(), &count);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(Narrow(args[i]));
  LocalFree(args);
  return out;
}

int Fail(const std::string& what, const llmdesk::Status& status) {
  std::printf("%s failed: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

int HistoryWrite() {
  using llmdesk::store::History;
  using llmdesk::store::MessageRecord;
  auto history = History::Open(History::DefaultPath());
  if (!history.ok()) return Fail("History::Open", history.status());
  std::printf("history %s\n", PathToUtf8((*history)->path()).c_str());
  auto id = (*history)->CreateConversation("Gr\xc3\xbc\xc3\x9f" "e \xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf", "demo");
  if (!id.ok()) return Fail("CreateConversation", id.status());
  MessageRecord user;
  user.role = "user";
  user.content = "What's 2+2, J\xc3\xb6rg?";
  if (auto m = (*history)->AppendMessage(*id, user); !m.ok()) return Fail("AppendMessage", m.status());
  auto answer = (*history)->BeginMessage(*id, "assistant");
  if (!answer.ok()) return Fail("BeginMessage", answer.status());
  if (auto s = (*history)->UpdateMessage(*answer, "2+2 = 4 (partial)"); !s.ok()) return Fail("UpdateMessage", s);
  std::printf("conversation %lld\n", static_cast<long long>(*id));
  return 0;  // the answer stays "streaming": its writer, this process, ends here
}

int HistoryRead(long long id) {
  using llmdesk::store::History;
  auto history = History::Open(History::DefaultPath());
  if (!history.ok()) return Fail("History::Open", history.status());
  auto conversation = (*history)->Get(id);
  if (!conversation.ok()) return Fail("Get", conversation.status());
  std::printf("title %s\n", conversation->summary.title.c_str());
  for (const auto& m : conversation->messages)
    std::printf("message %s %s %s\n", m.role.c_str(), llmdesk::store::ToString(m.status), m.content.c_str());
  auto own = (*history)->BeginMessage(id, "assistant");
  if (!own.ok()) return Fail("BeginMessage", own.status());
  auto again = (*history)->Get(id);  // Get marks dead writers' answers: this live one must stay streaming
  if (!again.ok()) return Fail("Get", again.status());
  std::printf("own streaming: %s\n", llmdesk::store::ToString(again->messages.back().status));
  return 0;
}

int Gguf(const std::string& path) {
  auto info = llmdesk::models::ReadGgufInfo(PathFromUtf8(path));
  if (!info.ok()) return Fail("ReadGgufInfo", info.status());
  std::printf("gguf arch=%s quant=%s ctx=%llu params=%llu template=%s tools=%s\n", info->architecture.c_str(),
              info->quantization.c_str(), static_cast<unsigned long long>(info->context_length.value_or(0)),
              static_cast<unsigned long long>(info->parameter_count), info->has_chat_template ? "yes" : "no",
              info->template_supports_tools ? "yes" : "no");
  return 0;
}

int Pull(const std::string& url) {
  auto ref = llmdesk::models::ParseModelRef(url);
  if (!ref.ok()) return Fail("ParseModelRef", ref.status());
  llmdesk::models::PullOptions options;
  options.library = llmdesk::models::LibraryDir(llmdesk::platform::ProcessEnvValue);
  options.connect_timeout = std::chrono::seconds(20);
  options.idle_timeout = std::chrono::seconds(60);
  auto pulled = llmdesk::models::Pull(*ref, options);
  if (!pulled.ok()) return Fail("Pull", pulled.status());
  std::printf("pulled %s size %llu sha256 %s\n", PathToUtf8(pulled->path).c_str(),
              static_cast<unsigned long long>(pulled->size), pulled->sha256.c_str());
  return Gguf(PathToUtf8(pulled->path));
}

}  // namespace

// -1 when `mode` is not one of these (win_probe.cpp's main then tries its own).
int StackProbeMain(const std::string& first) {
  auto args = WideArgs();
  std::string mode = first;
  if (mode == "with-env" && args.size() >= 4) {  // with-env NAME=VALUE MODE ...: the variable set in our CRT's copy
    _wputenv(llmdesk::platform::Widen(args[2]).c_str());
    args.erase(args.begin() + 1, args.begin() + 3);
    mode = args[1];
  }
  if (mode == "history-write") return HistoryWrite();
  if (mode == "history-read" && args.size() == 3) return HistoryRead(std::stoll(args[2]));
  if (mode == "gguf" && args.size() == 3) return Gguf(args[2]);
  if (mode == "pull" && args.size() == 3) return Pull(args[2]);
  return -1;
}
