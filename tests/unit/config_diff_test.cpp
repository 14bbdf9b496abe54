// config::Diff — what a reload may apply live and what needs a restart of the stack.
#include <gtest/gtest.h>

#include "config/config_diff.h"

namespace llmdesk::config {
namespace {

Config Load(const std::string& yaml) {
  auto r = LoadString(yaml, "test.yaml", [](const std::string&) { return std::optional<std::string>(); });
  EXPECT_TRUE(r.ok()) << (r.errors().empty() ? "" : r.errors()[0].ToString());
  return r.config;
}

const char* kBase = R"(
gateway: {port: 8760, token: old-secret}
tool_server: {port: 8763}
ports: {range: 10500-10600}
models:
  a: {model: /m/a.gguf, port: 10500}
  b: {model: /m/b.gguf}
  c: {url: http://box:8000/v1}
)";

TEST(ConfigDiff, ModelsAddedRemovedChangedAndUnchanged) {
  Config before = Load(kBase);
  Config after = Load(R"(
gateway: {port: 8760, token: old-secret}
tool_server: {port: 8763}
ports: {range: 10500-10600}
models:
  a: {model: /m/a.gguf, port: 10500}
  b: {model: /m/b.gguf, args: [--ctx-size, "512"]}
  d: {model: /m/d.gguf}
)");
  ConfigDiff d = Diff(before, after);
  EXPECT_EQ(d.unchanged_models, std::vector<std::string>{"a"});
  EXPECT_EQ(d.changed_models, std::vector<std::string>{"b"});
  EXPECT_EQ(d.added_models, std::vector<std::string>{"d"});
  EXPECT_EQ(d.removed_models, std::vector<std::string>{"c"});
  EXPECT_TRUE(d.needs_restart.empty());
  EXPECT_TRUE(d.live_settings.empty());
}

// Every key that changes how the engine starts is a change: RPC workers (issue 14), device and layers (issue 15).
TEST(ConfigDiff, RpcWorkersDeviceAndGpuLayersAreChanges) {
  Config before = Load(kBase);
  for (const char* entry : {"{model: /m/a.gguf, port: 10500, rpc: [\"10.0.0.5:50052\"]}",
                            "{model: /m/a.gguf, port: 10500, device: cpu}",
                            "{model: /m/a.gguf, port: 10500, gpu_layers: 3}"}) {
    Config after = Load(std::string("models:\n  a: ") + entry + "\n  b: {model: /m/b.gguf}\n  c: {url: http://box:8000/v1}\n"
                        "gateway: {port: 8760, token: old-secret}\ntool_server: {port: 8763}\nports: {range: 10500-10600}\n");
    ConfigDiff d = Diff(before, after);
    EXPECT_EQ(d.changed_models, std::vector<std::string>{"a"}) << entry;
  }
}

TEST(ConfigDiff, ListenersNeedARestartAndSecretsAreNamedNotShown) {
  Config before = Load(kBase);
  Config after = Load(R"(
gateway: {port: 8761, token: new-secret}
tool_server: {port: 8763}
ports: {range: 10500-10700}
models:
  a: {model: /m/a.gguf, port: 10500}
  b: {model: /m/b.gguf}
  c: {url: http://box:8000/v1}
chat: {max_tool_steps: 3}
)");
  ConfigDiff d = Diff(before, after);
  EXPECT_EQ(d.needs_restart,
            (std::vector<std::string>{"gateway.port: 8760 -> 8761", "gateway.token changed", "chat settings changed"}));
  EXPECT_EQ(d.live_settings, std::vector<std::string>{"ports.range: 10500-10600 -> 10500-10700"});
  for (const auto& line : d.needs_restart) EXPECT_EQ(line.find("secret"), std::string::npos) << line;
}

TEST(ConfigDiff, APreparedHfFileAndTheLabelAreNotChanges) {
  ModelConfig running;
  running.name = "default";
  running.hf = "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M";
  running.model = "/library/qwen.gguf";  // filled in by the front end before the start
  running.label = "a label";
  ModelConfig from_file = running;
  from_file.model.clear();
  from_file.label.clear();
  EXPECT_TRUE(SameModelSettings(running, from_file));
  from_file.hf = "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q8_0";
  EXPECT_FALSE(SameModelSettings(running, from_file));
}

}  // namespace
}  // namespace llmdesk::config
