// tools/time_win32.cpp — get_time in the Windows build, for now: Windows has no IANA time zone database in the
// form date/tz reads (/usr/share/zoneinfo), so the tool is listed (a client's tool list is the same on every
// platform) and says why it cannot answer. The way forward (ship tzdata or use Windows' ICU) is in docs/WINDOWS.md.
#include "tools/builtin.h"

namespace llmdesk::tools {

Tool MakeTimeTool() {
  Tool t;
  t.name = kTimeTool;
  t.title = "Current time";
  t.description = "Gets the current date and time in an IANA time zone (not available in llmdesk's Windows build yet).";
  t.input_schema = {
      {"type", "object"},
      {"properties", {{"timezone", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}, {"default", "UTC"}}}}},
      {"additionalProperties", false}};
  t.annotations = {{"title", t.title}, {"readOnlyHint", true}, {"destructiveHint", false},
                   {"idempotentHint", false}, {"openWorldHint", false}};
  t.run = [](const nlohmann::json&, const CallContext&) {
    return ToolResult::Error("get_time is not available in llmdesk's Windows build yet: it has no IANA time zone "
                             "database (see docs/WINDOWS.md)");
  };
  return t;
}

}  // namespace llmdesk::tools
