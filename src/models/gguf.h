// models/gguf.h — what `llmdesk models` shows about a GGUF file, read from its header without loading it.
//
// Why not ggml's gguf API (the issue names it): llmdesk_core must run where the engine cache is not built
// (a fresh clone, a packaged llama-server without ggml's headers), and the files come from the internet:
// gguf_init_from_file reads every key — a Qwen vocab is ~150,000 strings — into memory, while listing
// needs eight keys and the tensor shapes. So this is a small reader with hard bounds: it reads the
// header sequentially, skips what it does not need (token arrays are skipped, not stored), refuses
// counts and lengths that cannot fit in the file, and never reads tensor data. The tests check its
// results against ggml's own gguf API on generated models (tests/unit/models_gguf_test.cpp), and
// tests/fuzz/fuzz_gguf.cpp runs it on mutated headers.
//
// Pure functions; thread-safe. Errors: NotFound / IoError for the file, InvalidArgument for a file that is
// not GGUF or is malformed (the message says which field at which offset).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace llmdesk::models {

struct GgufInfo {
  uint32_t version = 0;
  std::string architecture;         // general.architecture: "llama", "qwen2", ...
  std::string name;                 // general.name ("" when absent)
  std::string description;          // general.description ("" when absent)
  uint64_t parameter_count = 0;     // sum of the tensors' element counts
  uint64_t tensor_count = 0;
  std::string quantization;         // "Q4_K_M", "F16", ... from general.file_type, else the commonest tensor type
  std::optional<uint64_t> context_length;  // <arch>.context_length
  bool has_chat_template = false;
  bool template_supports_tools = false;    // the embedded chat template uses `tools` / `tool_calls`
};

// Reads the header of `path`. Bounded: at most `max_header_bytes` are read (a header is a few MB at most;
// the tensor data after it is never touched).
Result<GgufInfo> ReadGgufInfo(const std::filesystem::path& path, uint64_t max_header_bytes = 256ull << 20);

// The same over bytes in memory (the fuzz target's entry point). `bytes` may be a prefix of a file: a
// header that does not fit in it is InvalidArgument ("truncated").
Result<GgufInfo> ParseGgufHeader(std::string_view bytes);

// Whether a Jinja chat template renders tool definitions or tool calls: `tools` or `tool_calls` used as a
// name inside a {% %} or {{ }} tag (text outside tags does not count).
bool TemplateSupportsTools(std::string_view chat_template);

// llama.cpp's file type (general.file_type, enum llama_ftype) as text: 15 -> "Q4_K_M"; "" when unknown.
std::string FileTypeName(uint32_t file_type);

}  // namespace llmdesk::models
