// llmdesk-testmodel — writes a tiny llama GGUF for tests (see testmodel.h for how it works).
//
// Exit codes: 0 written, 1 the model could not be made (missing vocab/template, I/O), 2 bad usage.
#include <CLI/CLI.hpp>

#include <iostream>

#include "testmodel.h"

namespace {

constexpr const char* kDefaultVocab = "ggml-vocab-qwen2.gguf";
constexpr const char* kDefaultTemplate = "templates/Qwen-Qwen2.5-7B-Instruct.jinja";

constexpr const char* kFooter = R"(Examples:
  llmdesk-testmodel --out m.gguf
      random weights: loads and answers (gibberish); for load and health tests
  llmdesk-testmodel --out m.gguf --tool-call calculator '{"expression":"2+2"}'
      served by `llama-server --jinja`, every chat completion answers with exactly that tool call
  llmdesk-testmodel --out m.gguf --tool-call calculator '{"expression":"2+2"}' --answer-after-tool "2+2 = "
      calls the tool; once a tool result is in the context answers "2+2 = " plus a one-digit result
      (tool result "4" -> "2+2 = 4"; any other result -> "2+2 = " alone)
  llmdesk-testmodel --out m.gguf --text "Hello"
      every chat completion answers exactly "Hello"

The vocab and template are looked up under share/llama.cpp/models/ of $LLMDESK_ENGINE_PREFIX, then
<exe>/../../.deps/engine, then the engine prefix this tool was built against.
Exit codes: 0 written, 1 could not write the model, 2 bad usage.)";

}  // namespace

int main(int argc, char** argv) {
  using namespace llmdesk::testmodel;
  CLI::App app{"llmdesk-testmodel — generate a small llama GGUF model for tests", "llmdesk-testmodel"};
  app.footer(kFooter);
  ModelSpec spec;
  std::string out, vocab, chat_template;
  std::vector<std::string> tool_call;
  std::string text;
  app.add_option("--out", out, "GGUF file to write (overwritten)")->required()->type_name("FILE");
  app.add_option("--seed", spec.seed, "seed of the random weights; same seed, same bytes")->capture_default_str();
  app.add_option("--vocab", vocab, std::string("vocab-only GGUF to copy the tokenizer from (default: ") +
                                       kDefaultVocab + ")")
      ->type_name("FILE");
  app.add_option("--template", chat_template,
                 std::string("Jinja chat template to embed (default: ") + kDefaultTemplate + ")")
      ->type_name("FILE");
  auto* tool_opt = app.add_option("--tool-call", tool_call,
                                  "NAME ARGS_JSON: answer every chat turn with this tool call; ARGS_JSON is a JSON "
                                  "object, emitted verbatim")
                       ->expected(2)
                       ->type_name("NAME ARGS_JSON");
  auto* text_opt = app.add_option("--text", text, "answer every chat turn with exactly this text");
  tool_opt->excludes(text_opt);
  std::string answer;
  auto* answer_opt = app.add_option("--answer-after-tool", answer,
                                    "with --tool-call: once a tool result is in the context, answer this text "
                                    "instead, followed by the result when it is one digit");
  answer_opt->needs(tool_opt);
  app.add_option("--layers", spec.shape.n_layer, "transformer blocks")->capture_default_str();
  app.add_option("--embd", spec.shape.n_embd, "embedding width")->capture_default_str();
  app.add_option("--heads", spec.shape.n_head, "attention heads")->capture_default_str();
  auto* kv_opt = app.add_option("--kv-heads", spec.shape.n_head_kv,
                                 "key/value heads (grouped-query attention; default: --heads)");
  app.add_option("--ff", spec.shape.n_ff, "feed-forward width")->capture_default_str();
  app.add_option("--ctx", spec.shape.n_ctx, "trained context length stored in the model")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and a hint to --help
    return 2;
  }

  spec.out = out;
  if (!*kv_opt) spec.shape.n_head_kv = spec.shape.n_head;
  if (!tool_call.empty()) spec.tool_call = ModelSpec::ToolCall{tool_call[0], tool_call[1]};
  if (*text_opt) spec.text = text;
  if (*answer_opt) spec.answer_after_tool = answer;
  if (llmdesk::Status s = ValidateSpec(spec); !s.ok()) {
    std::cerr << "llmdesk-testmodel: " << s.message() << "\nRun with --help for more information.\n";
    return 2;
  }
  auto resolve = [](const std::string& given, const char* fallback) -> llmdesk::Result<std::filesystem::path> {
    if (!given.empty()) return std::filesystem::path(given);
    return FindModelAsset(fallback);
  };
  auto vocab_path = resolve(vocab, kDefaultVocab);
  auto template_path = resolve(chat_template, kDefaultTemplate);
  for (const auto* r : {&vocab_path, &template_path}) {
    if (!r->ok()) {
      std::cerr << "llmdesk-testmodel: " << r->status().message() << "\n";
      return 1;
    }
  }
  spec.vocab = *vocab_path;
  spec.chat_template = *template_path;
  if (llmdesk::Status s = GenerateModel(spec); !s.ok()) {
    std::cerr << "llmdesk-testmodel: " << s.message() << "\n";
    return s.code() == llmdesk::Status::Code::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
