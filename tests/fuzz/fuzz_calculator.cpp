// tests/fuzz/fuzz_calculator.cpp — libFuzzer target: arbitrary text as the calculator's expression.
//
// Drives the tool the way the MCP server does: through tools::Registry::Call, so the inputSchema check,
// muparser and the result formatting all run. Invariants checked beyond "no crash, no sanitizer report,
// no hang" (libFuzzer's -timeout): Call never fails for a registered tool, exceptions never escape it,
// and the result is a well-formed content array whose text serialises as JSON (a tool that echoes a
// truncated multi-byte character would make the server's reply unserialisable).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/tools.h"

namespace {

const llmdesk::tools::Registry& Calculator() {
  static const llmdesk::tools::Registry registry = llmdesk::tools::BuiltinTools({"calculator"});
  return registry;
}

[[noreturn]] void Violation(const char* what, const std::string& detail) {
  fprintf(stderr, "fuzz_calculator: invariant violated: %s: %s\n", what, detail.c_str());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string expression(reinterpret_cast<const char*>(data), size);
  nlohmann::json arguments = {{"expression", expression}};
  // Over MCP the expression arrives as a parsed JSON string, so it is always valid UTF-8; other
  // byte strings cannot reach the tool and are not kept in the corpus.
  try {
    (void)arguments.dump();
  } catch (const nlohmann::json::type_error&) {
    return -1;
  }

  auto result = Calculator().Call("calculator", arguments, llmdesk::tools::CallContext{});
  if (!result.ok()) Violation("Call failed for a registered tool", result.status().ToString());
  const auto& content = result->content;
  if (!content.is_array() || content.empty()) Violation("content is not a non-empty array", content.dump());
  std::string serialised;
  try {
    serialised = content.dump();
    if (result->structured) serialised += result->structured->dump();
  } catch (const nlohmann::json::exception& e) {
    Violation("result does not serialise as JSON", e.what());
  }
  const auto& first = content.front();
  if (!first.is_object() || first.value("type", "") != "text" || !first.contains("text") ||
      !first["text"].is_string()) {
    Violation("first content block is not {type:text,text:string}", serialised);
  }
  if (!result->is_error && first["text"].get_ref<const std::string&>().empty()) {
    Violation("successful result with empty text", serialised);
  }
  return 0;
}
