// GenerateModel: metadata (llama hyper-parameters, the copied tokenizer, the chat template) plus
// the tensors from weights.cpp, written as one GGUF file.
#include <gguf.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "testmodel.h"
#include "weights.h"

namespace llmdesk::testmodel {
namespace {

struct GgufFree {
  void operator()(gguf_context* ctx) const { gguf_free(ctx); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufFree>;

constexpr const char* kTokenizerPrefix = "tokenizer.ggml.";

// Copies every tokenizer.ggml.* key of `src`, renaming the slots in `edits`.
Status CopyTokenizer(const gguf_context* src, gguf_context* dst, const std::vector<SlotEdit>& edits) {
  std::map<int32_t, const SlotEdit*> by_id;
  for (const auto& e : edits) by_id[e.id] = &e;
  for (int64_t i = 0; i < gguf_get_n_kv(src); ++i) {
    const std::string key = gguf_get_key(src, i);
    if (key.rfind(kTokenizerPrefix, 0) != 0) continue;
    const char* k = key.c_str();
    switch (gguf_get_kv_type(src, i)) {
      case GGUF_TYPE_STRING: gguf_set_val_str(dst, k, gguf_get_val_str(src, i)); break;
      case GGUF_TYPE_UINT32: gguf_set_val_u32(dst, k, gguf_get_val_u32(src, i)); break;
      case GGUF_TYPE_INT32: gguf_set_val_i32(dst, k, gguf_get_val_i32(src, i)); break;
      case GGUF_TYPE_FLOAT32: gguf_set_val_f32(dst, k, gguf_get_val_f32(src, i)); break;
      case GGUF_TYPE_BOOL: gguf_set_val_bool(dst, k, gguf_get_val_bool(src, i)); break;
      case GGUF_TYPE_ARRAY: {
        const size_t n = gguf_get_arr_n(src, i);
        const gguf_type type = gguf_get_arr_type(src, i);
        const bool is_tokens = key == "tokenizer.ggml.tokens";
        if (type == GGUF_TYPE_STRING) {
          std::vector<const char*> strings(n);
          for (size_t j = 0; j < n; ++j) strings[j] = gguf_get_arr_str(src, i, j);
          if (is_tokens)
            for (const auto& [id, e] : by_id) strings.at(id) = e->text.c_str();
          gguf_set_arr_str(dst, k, strings.data(), n);
        } else if (type == GGUF_TYPE_INT32 && key == "tokenizer.ggml.token_type") {
          const auto* data = static_cast<const int32_t*>(gguf_get_arr_data(src, i));
          std::vector<int32_t> types(data, data + n);
          for (const auto& [id, e] : by_id) types.at(id) = e->token_type;
          gguf_set_arr_data(dst, k, type, types.data(), n);
        } else if (type != GGUF_TYPE_ARRAY) {
          gguf_set_arr_data(dst, k, type, gguf_get_arr_data(src, i), n);
        }
        break;
      }
      default:
        return Status::InvalidArgument("unexpected type of " + key + " in the vocab file");
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ReadTokens(const gguf_context* vocab, const std::string& path) {
  int64_t key = gguf_find_key(vocab, "tokenizer.ggml.tokens");
  int64_t types = gguf_find_key(vocab, "tokenizer.ggml.token_type");
  if (key < 0 || types < 0 || gguf_get_kv_type(vocab, key) != GGUF_TYPE_ARRAY ||
      gguf_get_arr_type(vocab, key) != GGUF_TYPE_STRING || gguf_get_arr_n(vocab, types) != gguf_get_arr_n(vocab, key))
    return Status::InvalidArgument(path + " has no tokenizer.ggml.tokens/token_type arrays; pass a vocab GGUF "
                                          "from llama.cpp's models/ folder");
  std::vector<std::string> tokens(gguf_get_arr_n(vocab, key));
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = gguf_get_arr_str(vocab, key, i);
  return tokens;
}

Result<std::string> ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read chat template " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void SetHyperParameters(gguf_context* ctx, const Shape& s, int64_t n_vocab, float rope_freq_base) {
  gguf_set_val_str(ctx, "general.architecture", "llama");
  gguf_set_val_str(ctx, "general.name", "llmdesk-testmodel");
  gguf_set_val_u32(ctx, "general.file_type", 1);  // mostly F16
  gguf_set_val_u32(ctx, "llama.context_length", static_cast<uint32_t>(s.n_ctx));
  gguf_set_val_u32(ctx, "llama.embedding_length", static_cast<uint32_t>(s.n_embd));
  gguf_set_val_u32(ctx, "llama.block_count", static_cast<uint32_t>(s.n_layer));
  gguf_set_val_u32(ctx, "llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  gguf_set_val_u32(ctx, "llama.attention.head_count", static_cast<uint32_t>(s.n_head));
  gguf_set_val_u32(ctx, "llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  gguf_set_val_u32(ctx, "llama.rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
  gguf_set_val_f32(ctx, "llama.rope.freq_base", rope_freq_base);
  gguf_set_val_f32(ctx, "llama.attention.layer_norm_rms_epsilon", 1e-6f);
  gguf_set_val_u32(ctx, "llama.vocab_size", static_cast<uint32_t>(n_vocab));
}

}  // namespace

Status ValidateSpec(const ModelSpec& spec) {
  const Shape& s = spec.shape;
  if (spec.out.empty()) return Status::InvalidArgument("--out FILE is required");
  if (s.n_layer < 1 || s.n_layer > 64) return Status::InvalidArgument("--layers must be 1..64");
  if (s.n_head < 1 || s.n_head_kv < 1 || s.n_head % s.n_head_kv != 0)
    return Status::InvalidArgument("--heads must be a positive multiple of --kv-heads");
  if (s.n_embd < 8 || s.n_embd > 4096 || s.n_embd % s.n_head != 0 || (s.n_embd / s.n_head) % 2 != 0)
    return Status::InvalidArgument("--embd must be 8..4096 and divisible by --heads into an even head size");
  if (s.n_ff < 1 || s.n_ff > 65536) return Status::InvalidArgument("--ff must be 1..65536");
  if (s.n_ctx < 16 || s.n_ctx > (1 << 20)) return Status::InvalidArgument("--ctx must be 16..1048576");
  if (spec.tool_call && spec.text) return Status::InvalidArgument("--tool-call and --text exclude each other");
  if (spec.tool_call) {
    if (spec.tool_call->name.empty()) return Status::InvalidArgument("--tool-call: the tool name is empty");
    auto args = nlohmann::json::parse(spec.tool_call->arguments_json, nullptr, /*allow_exceptions=*/false);
    if (args.is_discarded() || !args.is_object())
      return Status::InvalidArgument("--tool-call: the arguments must be a JSON object, e.g. '{\"expression\":\"2+2\"}'; got: " +
                                     spec.tool_call->arguments_json);
  }
  if (spec.answer_after_tool && !spec.tool_call)
    return Status::InvalidArgument("--answer-after-tool needs --tool-call: the model calls the tool first");
  if (spec.answer_after_tool && spec.answer_after_tool->find_first_not_of(" \t\r\n") == std::string::npos)
    return Status::InvalidArgument("--answer-after-tool needs at least one non-blank character");
  const int head_size = s.n_embd / s.n_head;
  if (spec.answer_after_tool && (s.n_layer < 2 || s.n_head < 3 || s.n_head_kv != s.n_head || head_size < 16 ||
                                 head_size > 64))
    return Status::InvalidArgument("--answer-after-tool needs --layers >= 2, --heads >= 3, --kv-heads equal to "
                                   "--heads and a head size (--embd / --heads) of 16..64");
  if (spec.text && spec.text->find_first_not_of(" \t\r\n") == std::string::npos)
    return Status::InvalidArgument("--text needs at least one non-blank character");
  return Status::Ok();
}

Status GenerateModel(const ModelSpec& spec) {
  if (Status s = ValidateSpec(spec); !s.ok()) return s;
  gguf_context* raw_vocab = gguf_init_from_file(spec.vocab.c_str(), {/*no_alloc=*/true, nullptr});
  if (!raw_vocab) return Status::NotFound("cannot read vocab GGUF " + spec.vocab.string());
  GgufPtr vocab(raw_vocab);
  auto tokens = ReadTokens(vocab.get(), spec.vocab.string());
  if (!tokens) return tokens.status();
  const auto n_vocab = static_cast<int64_t>(tokens->size());
  auto chat_template = ReadText(spec.chat_template);
  if (!chat_template) return chat_template.status();

  Script script;
  const bool scripted = spec.tool_call || spec.text;
  if (scripted) {
    auto built = BuildScript(spec, *tokens);
    if (!built) return built.status();
    script = std::move(*built);
  }

  GgufPtr out(gguf_init_empty());
  // The answer mode's positional heads are tuned to their own RoPE base (answer_weights.cpp).
  SetHyperParameters(out.get(), spec.shape, n_vocab,
                     spec.answer_after_tool ? AnswerRopeFreqBase(spec.shape) : 10000.0f);
  if (Status s = CopyTokenizer(vocab.get(), out.get(), script.edits); !s.ok()) return s;
  // Like Qwen2.5-Instruct: turns end with <|im_end|>, no BOS is prepended.
  for (int32_t id = 0; id < n_vocab; ++id)
    if ((*tokens)[id] == "<|im_end|>") gguf_set_val_u32(out.get(), "tokenizer.ggml.eos_token_id", id);
  gguf_set_val_bool(out.get(), "tokenizer.ggml.add_bos_token", false);
  gguf_set_val_str(out.get(), "tokenizer.chat_template", chat_template->c_str());
  std::string description = "llmdesk test model, random weights (seed " + std::to_string(spec.seed) + ")";
  if (spec.tool_call && spec.answer_after_tool)
    description += "; calls tool " + spec.tool_call->name + ", then answers a fixed text once a tool result is in its context";
  else if (spec.tool_call)
    description += "; always answers with a call of tool " + spec.tool_call->name;
  if (spec.text) description += "; always answers with a fixed text";
  gguf_set_val_str(out.get(), "general.description", description.c_str());

  auto tensors = BuildTensors(spec.shape, spec.seed, scripted ? &script : nullptr, n_vocab);
  if (!tensors) return tensors.status();
  for (ggml_tensor* t : tensors->tensors) gguf_add_tensor(out.get(), t);

  // Write next to the target and rename, so a reader never sees half a model.
  std::filesystem::path tmp = spec.out;
  tmp += ".partial";
  if (!gguf_write_to_file(out.get(), tmp.c_str(), /*only_meta=*/false)) {
    std::filesystem::remove(tmp);
    return Status::IoError("cannot write " + tmp.string() + " (does the directory exist and is it writable?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, spec.out, ec);
  if (ec) return Status::IoError("cannot rename " + tmp.string() + " to " + spec.out.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace llmdesk::testmodel
