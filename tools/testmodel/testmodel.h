// tools/testmodel/testmodel.h — llmdesk-testmodel: writes small llama-architecture GGUF models for tests.
//
// No registry reachable from CI ships model weights, so tests generate their own. A model is:
//   * the tokenizer of a vocab-only GGUF from the llama.cpp source (ggml-vocab-qwen2.gguf), so
//     llama-server tokenizes and detokenizes like a real Qwen2 model;
//   * a chat template that renders tools (Qwen2.5-Instruct), so `llama-server --jinja` picks its
//     Hermes-style <tool_call> format;
//   * random llama weights (tiny: 2 layers, n_embd 64, F16), deterministic for a seed.
//
// Scripted modes (--tool-call, --text) make greedy *and* default sampling emit a fixed token
// sequence, whatever the prompt. How: every layer's output projection (attn_output, ffn_down) is
// zero, so the residual stream carries the embedding of the *previous token* unchanged to the
// output. Each scripted token gets its own one-hot embedding direction ("state"), every other
// token shares state 0, and output.weight maps state k to a large logit for scripted token k (the
// last state maps to <|im_end|>). Repeated tokens would break such a previous-token machine, so
// the answer is cut into pieces (words; for a tool call: the `{"name": …, "arguments": ` head and
// the arguments) that each become one token the sequence never repeats: an otherwise-unused vocab
// slot ([PAD…] entries of the Qwen2 vocab) renamed to the piece, or the existing token when the
// piece already is one (llama.cpp rejects a vocab with two equal texts); a piece that would repeat
// a token is glued to its neighbour. The Qwen2 vocab predates tool calls, so the slots Qwen2.5
// uses for <tool_call> (151657) and </tool_call> (151658) are renamed like Qwen2.5.
//
// Limits, by design: the scripted call must fit the schema of the tool the request offers —
// llama-server constrains tool-call output with a grammar, and when it rejects the scripted token
// the model is off script and rambles until max_tokens (so give requests a max_tokens). The prompt's
// last token must not be a scripted one; with the Qwen template it is always the "\n" after
// "<|im_start|>assistant", and blank pieces are never made into tokens of their own.
//
// Answer after the tool (--tool-call NAME ARGS --answer-after-tool TEXT): the same model calls its
// tool first and, once a tool result is in its context, answers TEXT followed by the result when
// that result is a single digit (calculator "4" -> "TEXT4"; any other result -> TEXT alone). Two
// layers of real attention do it (answer_weights.cpp has the numbers), on top of the machine above:
//   * tokens: "<tool_response>"/"</tool_response>" become user-defined tokens in Qwen2.5's slots
//     (151665/151666), so the tokenizer emits the marker atomically from the rendered prompt
//     "<tool_response>\n{RESULT}\n</tool_response>"; the digits 0-9, "\n" and the marker get states
//     of their own, and every token embedding also carries a constant "bias" direction.
//   * layer 0, head 0 ("tool seen"): the query of a "\n" position matches the key of the marker
//     (content in the last RoPE pair, whose frequency is ~0, so the score ignores distance), and
//     the value writes a flag. The output layer reads state "\n" + flag as "start the answer"
//     instead of "start the tool call". With no tool result in the context nothing matches, the
//     attention spreads over keys whose value is zero, and the model calls its tool again.
//   * layer 0, heads 1 and 2: positional heads (several high-frequency RoPE pairs tuned so the
//     score peaks at a distance of exactly 2 or 3; the weights are sized from the worst score
//     margin over the whole context) mark the first and second token of the result.
//   * layer 1, head 0 (copy): the query of the last TEXT token matches the "first result token"
//     mark; its value is the digit identity, which the output layer maps to that digit token.
//     Head 1 checks that the second result token is the closing "\n" (a one-token result); only
//     then does the digit beat <|im_end|>. After the digit, <|im_end|>.
// So the answer appears only when a tool response reached the prompt (or a message quoting the text
// "<tool_response>", which the tokenizer turns into the marker too), and its number is the one
// the tool returned. Limits: only a one-digit result is copied ("12", "-3", "3.5" give TEXT
// alone); once a tool result is anywhere in the context, every later turn answers TEXT; the
// answer mode needs 2+ layers, 3+ heads, --kv-heads equal to --heads and a head size of 16..64.
//
// Errors are values: GenerateModel returns a Status whose message says what was wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace llmdesk::testmodel {

struct Shape {
  int n_layer = 2;
  int n_embd = 64;
  int n_head = 4;
  int n_head_kv = 4;
  int n_ff = 128;
  int n_ctx = 4096;
};

struct ModelSpec {
  std::filesystem::path out;
  std::filesystem::path vocab;     // vocab-only GGUF whose tokenizer.ggml.* keys are copied
  std::filesystem::path chat_template;  // Jinja file stored as tokenizer.chat_template
  uint64_t seed = 42;
  Shape shape;
  // Scripted answer: at most one of these is set.
  struct ToolCall {
    std::string name;
    std::string arguments_json;  // a JSON object, emitted verbatim (its key order is kept)
  };
  std::optional<ToolCall> tool_call;
  std::optional<std::string> text;
  // With tool_call: once a tool result is in the context, answer this text (plus a one-digit result).
  std::optional<std::string> answer_after_tool;
};

// A vocab slot renamed for the model: its new text (raw bytes) and GGUF token type.
struct SlotEdit {
  int32_t id = 0;
  std::string text;
  int32_t token_type = 0;  // 1 normal (text stored GPT-2 byte-encoded), 4 user-defined (raw)
};

// The token sequence a scripted model answers with, and the vocab edits it needs.
struct Script {
  std::vector<int32_t> tokens;  // emitted in order, then end_token
  int32_t end_token = 0;
  std::vector<SlotEdit> edits;
  // Answer-after-tool models only (answer_tokens empty otherwise): the answer, then maybe a digit.
  std::vector<int32_t> answer_tokens;
  int32_t tool_response_token = -1;  // "<tool_response>"
  int32_t newline_token = -1;        // "\n", the last token of every generation prompt
  std::vector<int32_t> digit_tokens;  // "0".."9"
};

// Checks the spec's shape and scripted answer; the message names the offending flag.
Status ValidateSpec(const ModelSpec& spec);

// Writes spec.out (a GGUF file). Overwrites an existing file.
Status GenerateModel(const ModelSpec& spec);

// --- internals shared by the .cpp files of this tool ---------------------------------------------

// GPT-2 byte-level encoding of raw bytes (how BPE vocabs store normal tokens: ' ' -> 'Ġ', ...).
std::string ByteLevelEncode(const std::string& raw);

// Residual dimensions an answer-after-tool model needs besides one per answer piece, for a tool
// call of n_tool_tokens tokens (answer_weights.cpp lays them out).
int64_t AnswerReservedDims(int64_t n_tool_tokens);

// Builds the script for spec against the vocab's token texts (already byte-encoded as stored).
Result<Script> BuildScript(const ModelSpec& spec, const std::vector<std::string>& vocab_tokens);

// Where the engine's model assets live (vocab GGUFs and templates/), tried in order:
// $LLMDESK_ENGINE_PREFIX, <exe>/../../.deps/engine, the compile-time LLMDESK_ENGINE_PREFIX.
std::vector<std::filesystem::path> ModelAssetDirs();
// The first existing <dir>/<relative> over ModelAssetDirs(), or NotFound listing what was tried.
Result<std::filesystem::path> FindModelAsset(const std::string& relative);

}  // namespace llmdesk::testmodel
