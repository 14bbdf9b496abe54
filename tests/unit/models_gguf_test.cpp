// models/gguf.h on generated models (issue 11, acceptance 3): architecture, quantisation, context length,
// parameter count and tool support as `llmdesk models --json` reports them — checked against ggml's own
// gguf API reading the same files — and the reader's bounds on truncated and corrupted headers.
#include <gtest/gtest.h>

#include <gguf.h>
#include <ggml.h>

#include <fstream>
#include <iterator>
#include <random>

#include <nlohmann/json.hpp>

#include "models/gguf.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

fs::path Template(const std::string& name) {
  return fs::path(LLMDESK_TEST_ENGINE_PREFIX) / "share/llama.cpp/models/templates" / name;
}

// What ggml's gguf API says about a file (loads metadata only: no_alloc).
struct GgmlView {
  std::string architecture;
  uint64_t context_length = 0;
  uint32_t file_type = 0;
  uint64_t parameters = 0;
  std::string chat_template;
};

GgmlView ReadWithGgml(const fs::path& path) {
  GgmlView v;
  ggml_context* meta = nullptr;
  gguf_init_params params{.no_alloc = true, .ctx = &meta};
  gguf_context* ctx = gguf_init_from_file(path.c_str(), params);
  EXPECT_NE(ctx, nullptr);
  if (!ctx) return v;
  v.architecture = gguf_get_val_str(ctx, gguf_find_key(ctx, "general.architecture"));
  v.context_length = gguf_get_val_u32(ctx, gguf_find_key(ctx, (v.architecture + ".context_length").c_str()));
  v.file_type = gguf_get_val_u32(ctx, gguf_find_key(ctx, "general.file_type"));
  v.chat_template = gguf_get_val_str(ctx, gguf_find_key(ctx, "tokenizer.chat_template"));
  for (ggml_tensor* t = ggml_get_first_tensor(meta); t; t = ggml_get_next_tensor(meta, t))
    v.parameters += static_cast<uint64_t>(ggml_nelements(t));
  gguf_free(ctx);
  ggml_free(meta);
  return v;
}

class ModelsGguf : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    Make("tools.gguf", {"--ctx", "2048"});
    Make("plain.gguf", {"--ctx", "1024", "--template", Template("google-gemma-2-2b-it.jinja").string()});
  }
  static void TearDownTestSuite() { delete dir_; }
  static void Make(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> argv = {BinPath("llmdesk-testmodel").string(), "--out", (dir_->path() / name).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv, 120s);
    ASSERT_EQ(r.exit_code, 0) << "llmdesk-testmodel failed (run scripts/setup): " << r.err;
  }
  static fs::path Path(const std::string& name) { return dir_->path() / name; }
  static TempDir* dir_;
};
TempDir* ModelsGguf::dir_ = nullptr;

TEST_F(ModelsGguf, AgreesWithGgmlAndSeesToolSupport) {
  for (const auto& [name, ctx, tools] : {std::tuple{"tools.gguf", 2048, true}, std::tuple{"plain.gguf", 1024, false}}) {
    SCOPED_TRACE(name);
    auto info = models::ReadGgufInfo(Path(name));
    ASSERT_TRUE(info.ok()) << info.status().message();
    GgmlView ggml = ReadWithGgml(Path(name));
    EXPECT_EQ(info->architecture, "llama");
    EXPECT_EQ(info->architecture, ggml.architecture);
    ASSERT_TRUE(info->context_length.has_value());
    EXPECT_EQ(*info->context_length, static_cast<uint64_t>(ctx));
    EXPECT_EQ(*info->context_length, ggml.context_length);
    EXPECT_EQ(info->quantization, "F16");  // the generator writes general.file_type 1 = mostly F16
    EXPECT_EQ(info->quantization, models::FileTypeName(ggml.file_type));
    EXPECT_GT(info->parameter_count, 1000000u);
    EXPECT_EQ(info->parameter_count, ggml.parameters);
    EXPECT_TRUE(info->has_chat_template);
    EXPECT_EQ(info->template_supports_tools, tools);
    EXPECT_EQ(models::TemplateSupportsTools(ggml.chat_template), tools);
  }
}

TEST_F(ModelsGguf, CliModelsJsonReportsTheMetadata) {
  TempDir home;
  fs::create_directories(home.path() / "data/llmdesk/models/mine");
  fs::copy_file(Path("tools.gguf"), home.path() / "data/llmdesk/models/mine/tools.gguf");
  fs::copy_file(Path("plain.gguf"), home.path() / "data/llmdesk/models/plain.gguf");
  // A model in the Hugging Face cache layout, reached through a snapshot symlink into blobs/.
  fs::path hub = home.path() / "hf/hub/models--someone--Tiny-GGUF";
  fs::create_directories(hub / "blobs");
  fs::create_directories(hub / "snapshots/abc123");
  fs::copy_file(Path("tools.gguf"), hub / "blobs/0123abcd");
  fs::create_symlink("../../blobs/0123abcd", hub / "snapshots/abc123/tiny-Q8_0.gguf");
  home.Write("data/llmdesk/models/broken.gguf", "GGUF\x03");

  auto r = RunCommand({"env", "HOME=" + home.path().string(), "XDG_DATA_HOME=" + (home.path() / "data").string(),
                       "HF_HOME=" + (home.path() / "hf").string(), "HF_HUB_CACHE=", "XDG_CACHE_HOME=", "LLAMA_CACHE=",
                       BinPath("llmdesk").string(), "models", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << r.out;
  std::map<std::string, json> by_name;
  for (const auto& m : list) by_name[m.value("name", "")] = m;
  ASSERT_EQ(by_name.size(), 4u) << r.out;
  const json& tools = by_name["mine/tools.gguf"];
  EXPECT_EQ(tools.value("source", ""), "library");
  EXPECT_EQ(tools.value("architecture", ""), "llama");
  EXPECT_EQ(tools.value("quantization", ""), "F16");
  EXPECT_EQ(tools.value("context_length", 0), 2048);
  EXPECT_EQ(tools.value("tools", false), true);
  EXPECT_EQ(tools.value("size", 0ull), fs::file_size(Path("tools.gguf")));
  const json& plain = by_name["plain.gguf"];
  EXPECT_EQ(plain.value("tools", true), false);
  EXPECT_EQ(plain.value("context_length", 0), 1024);
  const json& cached = by_name["someone/Tiny-GGUF/tiny-Q8_0.gguf"];
  EXPECT_EQ(cached.value("source", ""), "huggingface");
  EXPECT_EQ(cached.value("tools", false), true);
  const json& broken = by_name["broken.gguf"];
  EXPECT_TRUE(broken.contains("error"));
  EXPECT_FALSE(broken.contains("architecture"));

  // The table names the columns and says "no" for the plain model.
  auto table = RunCommand({"env", "HOME=" + home.path().string(), "XDG_DATA_HOME=" + (home.path() / "data").string(),
                           "HF_HOME=", BinPath("llmdesk").string(), "models"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("TOOLS"), std::string::npos);
  EXPECT_NE(table.out.find("plain.gguf"), std::string::npos);
  // Another tool's model is not ours to remove.
  auto rm = RunCommand({"env", "HOME=" + home.path().string(), "XDG_DATA_HOME=" + (home.path() / "data").string(),
                        "HF_HOME=" + (home.path() / "hf").string(), BinPath("llmdesk").string(), "models", "rm",
                        "someone/Tiny-GGUF/tiny-Q8_0.gguf"});
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_NE(rm.err.find("huggingface-cli delete-cache"), std::string::npos) << rm.err;
  EXPECT_TRUE(fs::exists(hub / "blobs/0123abcd"));
}

TEST_F(ModelsGguf, TruncatedAndCorruptedHeadersAreErrorsNotCrashes) {
  const std::string bytes = ReadFileBytes(Path("tools.gguf"));
  auto whole = models::ParseGgufHeader(bytes);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  // Every cut inside the header is reported as truncated (sampled: the header is a few MB).
  for (size_t cut : {0ul, 3ul, 4ul, 8ul, 16ul, 23ul, 24ul, 40ul, 1000ul, 100000ul, 1000000ul}) {
    auto r = models::ParseGgufHeader(std::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(r.ok()) << cut;
  }
  // Random corruption of the first 64 KiB: any outcome but a crash, a hang or an absurd allocation.
  std::mt19937 rng(7);
  std::string copy = bytes.substr(0, 4u << 20);
  for (int round = 0; round < 300; ++round) {
    std::string mutated = copy;
    for (int i = 0; i < 4; ++i) mutated[rng() % 65536] = static_cast<char>(rng());
    (void)models::ParseGgufHeader(mutated);
  }
  // Lies about counts and lengths are refused before anything is allocated.
  std::string lie("GGUF\x03\0\0\0", 8);
  lie += std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + std::string(8, '\0');
  EXPECT_FALSE(models::ParseGgufHeader(lie).ok());
  EXPECT_FALSE(models::ParseGgufHeader("GGUF\x01\0\0\0").ok());
  EXPECT_NE(models::ParseGgufHeader("PK\x03\x04").status().message().find("not a GGUF"), std::string::npos);
}

TEST(ModelsTemplates, ToolSupportOfRealTemplates) {
  EXPECT_TRUE(models::TemplateSupportsTools(ReadFileBytes(Template("Qwen-Qwen2.5-7B-Instruct.jinja"))));
  EXPECT_TRUE(models::TemplateSupportsTools(ReadFileBytes(Template("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"))));
  EXPECT_FALSE(models::TemplateSupportsTools(ReadFileBytes(Template("google-gemma-2-2b-it.jinja"))));
  EXPECT_FALSE(models::TemplateSupportsTools("You can use tools here. {{ messages[0]['content'] }}"));
  EXPECT_TRUE(models::TemplateSupportsTools("{%- if tools %}{{ tools | tojson }}{% endif %}"));
  EXPECT_FALSE(models::TemplateSupportsTools("{% if toolsy %}{% endif %}{{ unclosed"));
}

}  // namespace
}  // namespace llmdesk::test
