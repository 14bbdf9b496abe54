// Scripted answers: which tokens a --tool-call / --text model emits, and the vocab slots it renames.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <unordered_set>

#include "testmodel.h"

namespace llmdesk::testmodel {
namespace {

constexpr int32_t kTokenTypeNormal = 1;
constexpr int32_t kTokenTypeUserDefined = 4;
// Qwen2.5 puts <tool_call>/</tool_call> here; the Qwen2 vocab has [PAD…] placeholders there.
constexpr int32_t kQwen25ToolCallOpen = 151657;
constexpr int32_t kQwen25ToolCallClose = 151658;
// ... and <tool_response> (151665) / </tool_response> (151666), used by answer-after-tool models.
constexpr int32_t kQwen25ToolResponseOpen = 151665;
constexpr int32_t kQwen25ToolResponseClose = 151666;
// Qwen2.5 uses the slots up to 151664 (FIM tokens); payload pieces go after them.
constexpr int32_t kFirstPayloadSlot = 151700;

bool IsFreeSlot(const std::string& text) { return text.rfind("[PAD", 0) == 0; }

std::optional<int32_t> FindToken(const std::vector<std::string>& vocab, const std::string& text) {
  auto it = std::find(vocab.begin(), vocab.end(), text);
  if (it == vocab.end()) return std::nullopt;
  return static_cast<int32_t>(it - vocab.begin());
}

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; });
}

// Splits text into word-like pieces ("Hello", " world", "!\n…") so streamed answers arrive in
// several chunks like a real model's. Blank pieces are glued to a neighbour: a piece that is just
// "\n" would share its text with the last token of every generation prompt.
std::vector<std::string> SplitWords(const std::string& text, size_t max_pieces) {
  std::vector<std::string> pieces;
  std::string current;
  for (char c : text) {
    bool space = c == ' ';
    if (space && !current.empty() && current.back() != ' ') {
      pieces.push_back(current);
      current.clear();
    }
    current += c;
  }
  if (!current.empty()) pieces.push_back(current);
  std::vector<std::string> merged;
  for (auto& p : pieces) {
    if (!merged.empty() && (IsBlank(p) || IsBlank(merged.back()))) merged.back() += p;
    else merged.push_back(p);
  }
  while (merged.size() > max_pieces) {  // glue pairs until the script fits the embedding width
    std::vector<std::string> halved;
    for (size_t i = 0; i < merged.size(); i += 2)
      halved.push_back(i + 1 < merged.size() ? merged[i] + merged[i + 1] : merged[i]);
    merged = std::move(halved);
  }
  return merged;
}

class SlotAllocator {
 public:
  explicit SlotAllocator(const std::vector<std::string>& vocab) : vocab_(vocab) {}

  // A free slot, preferring `wanted` when it is free.
  std::optional<int32_t> Take(std::optional<int32_t> wanted = std::nullopt) {
    if (wanted && Free(*wanted)) return Mark(*wanted);
    for (int32_t id = std::min<int32_t>(kFirstPayloadSlot, static_cast<int32_t>(vocab_.size())); id < Size(); ++id)
      if (Free(id)) return Mark(id);
    for (int32_t id = 0; id < Size(); ++id)
      if (Free(id)) return Mark(id);
    return std::nullopt;
  }

 private:
  int32_t Size() const { return static_cast<int32_t>(vocab_.size()); }
  bool Free(int32_t id) const { return id >= 0 && id < Size() && IsFreeSlot(vocab_[id]) && !taken_.count(id); }
  int32_t Mark(int32_t id) {
    taken_.insert(id);
    return id;
  }
  const std::vector<std::string>& vocab_;
  std::unordered_set<int32_t> taken_;
};

}  // namespace

std::string ByteLevelEncode(const std::string& raw) {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other bytes are
  // numbered from U+0100 upwards in byte order.
  static const auto kTable = [] {
    std::array<char32_t, 256> table{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      table[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return table;
  }();
  std::string out;
  for (unsigned char byte : raw) {
    char32_t cp = kTable[byte];
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {  // all code points here are < 0x800: two UTF-8 bytes
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

Result<Script> BuildScript(const ModelSpec& spec, const std::vector<std::string>& vocab) {
  Script script;
  auto end = FindToken(vocab, "<|im_end|>");
  if (!end)
    return Status::InvalidArgument("the vocab has no <|im_end|> token; scripted models need a Qwen2-style vocab "
                                   "(use the default ggml-vocab-qwen2.gguf)");
  script.end_token = *end;
  SlotAllocator slots(vocab);

  // Tokens an answer-after-tool model gives states of their own: no scripted piece may be one.
  std::unordered_set<int32_t> reserved;
  // Tags spelled and numbered like Qwen2.5's added tokens (user-defined: stored as raw text).
  auto tag = [&](const char* text, int32_t wanted) -> Result<int32_t> {
    if (auto existing = FindToken(vocab, text)) return *existing;
    auto id = slots.Take(wanted);
    if (!id) return Status::InvalidArgument("the vocab has no free [PAD…] slot for " + std::string(text));
    script.edits.push_back({*id, text, kTokenTypeUserDefined});
    return *id;
  };
  if (spec.answer_after_tool) {
    auto open = tag("<tool_response>", kQwen25ToolResponseOpen);
    if (!open) return open.status();
    auto close = tag("</tool_response>", kQwen25ToolResponseClose);
    if (!close) return close.status();
    script.tool_response_token = *open;
    auto newline = FindToken(vocab, ByteLevelEncode("\n"));
    if (!newline) return Status::InvalidArgument("the vocab has no \"\\n\" token; use the default ggml-vocab-qwen2.gguf");
    script.newline_token = *newline;
    for (char d = '0'; d <= '9'; ++d) {
      auto digit = FindToken(vocab, std::string(1, d));
      if (!digit) return Status::InvalidArgument(std::string("the vocab has no token \"") + d + "\"");
      script.digit_tokens.push_back(*digit);
    }
    reserved.insert(script.digit_tokens.begin(), script.digit_tokens.end());
    reserved.insert({*open, *close, *newline});
  }

  // Payload pieces of text become tokens. llama.cpp refuses a vocab with two equal token texts,
  // and a previous-token machine cannot emit one token twice, so: a piece whose text is new gets a
  // fresh slot; a piece that already is a token uses that token, unless the script already used
  // it (or reserved it), in which case the piece is glued to a neighbour and the plan is redone.
  auto add_pieces = [&](std::vector<std::string> pieces, std::vector<int32_t>& into) -> Status {
    std::vector<std::optional<int32_t>> plan;  // existing token, or nullopt for a fresh slot
    for (bool done = false; !done;) {
      done = true;
      plan.clear();
      std::unordered_set<std::string> fresh_texts;
      std::unordered_set<int32_t> used(reserved);
      used.insert(script.tokens.begin(), script.tokens.end());
      used.insert(script.answer_tokens.begin(), script.answer_tokens.end());
      for (size_t i = 0; i < pieces.size() && done; ++i) {
        const std::string encoded = ByteLevelEncode(pieces[i]);
        auto existing = FindToken(vocab, encoded);
        if (!existing && fresh_texts.insert(encoded).second) {
          plan.emplace_back(std::nullopt);
        } else if (existing && used.insert(*existing).second) {
          plan.emplace_back(existing);
        } else if (pieces.size() == 1) {
          return Status::InvalidArgument("the scripted text '" + pieces[0] +
                                         "' is a token the model already uses (a digit, \"\\n\", a tag, a piece of the tool call); "
                                         "make it longer");
        } else {
          size_t at = i + 1 < pieces.size() ? i : i - 1;
          pieces[at] += pieces[at + 1];
          pieces.erase(pieces.begin() + static_cast<std::ptrdiff_t>(at) + 1);
          done = false;
        }
      }
    }
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (plan[i]) {
        into.push_back(*plan[i]);
        continue;
      }
      auto id = slots.Take();
      if (!id) return Status::InvalidArgument("the vocab has too few free [PAD…] slots for this scripted answer");
      script.edits.push_back({*id, ByteLevelEncode(pieces[i]), kTokenTypeNormal});
      into.push_back(*id);
    }
    return Status::Ok();
  };

  if (spec.tool_call) {
    auto open = tag("<tool_call>", kQwen25ToolCallOpen);
    if (!open) return open.status();
    auto close = tag("</tool_call>", kQwen25ToolCallClose);
    if (!close) return close.status();
    // The body exactly as Qwen2.5 writes it: <tool_call>\n{"name": …, "arguments": …}\n</tool_call>
    script.tokens.push_back(*open);
    Status s = add_pieces({"\n{\"name\": " + nlohmann::json(spec.tool_call->name).dump() + ", \"arguments\": ",
                           spec.tool_call->arguments_json + "}\n"},
                          script.tokens);
    if (!s.ok()) return s;
    script.tokens.push_back(*close);
  } else if (spec.text) {
    // Leave room in the embedding for one state per scripted token plus the "any other token" state.
    const size_t max_pieces = static_cast<size_t>(spec.shape.n_embd) - 4;
    if (Status s = add_pieces(SplitWords(*spec.text, max_pieces), script.tokens); !s.ok()) return s;
  }
  if (spec.answer_after_tool) {
    const int64_t room = spec.shape.n_embd - AnswerReservedDims(static_cast<int64_t>(script.tokens.size()));
    if (room < 1)
      return Status::InvalidArgument("--answer-after-tool: --embd " + std::to_string(spec.shape.n_embd) +
                                     " leaves no room for the answer; use a larger --embd");
    Status s = add_pieces(SplitWords(*spec.answer_after_tool, static_cast<size_t>(room)), script.answer_tokens);
    if (!s.ok()) return s;
  }
  return script;
}

std::vector<std::filesystem::path> ModelAssetDirs() {
  const std::filesystem::path rel = std::filesystem::path("share") / "llama.cpp" / "models";
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("LLMDESK_ENGINE_PREFIX"); env && *env) dirs.push_back(env / rel);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path() / ".." / ".." / ".deps" / "engine" / rel);
#ifdef LLMDESK_ENGINE_PREFIX_DEFAULT
  dirs.push_back(std::filesystem::path(LLMDESK_ENGINE_PREFIX_DEFAULT) / rel);
#endif
  return dirs;
}

Result<std::filesystem::path> FindModelAsset(const std::string& relative) {
  std::string tried;
  for (const auto& dir : ModelAssetDirs()) {
    auto candidate = (dir / relative).lexically_normal();
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
    tried += "\n  " + candidate.string();
  }
  return Status::NotFound("cannot find " + relative + "; tried:" + tried +
                          "\nRun scripts/setup, set LLMDESK_ENGINE_PREFIX, or pass the file explicitly.");
}

}  // namespace llmdesk::testmodel
