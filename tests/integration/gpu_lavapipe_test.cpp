// Issue 15 on a software GPU: Mesa's lavapipe (mesa-vulkan-drivers, installed by scripts/setup) is the Vulkan
// device. `llmdesk devices` lists it as Vulkan0; `device: Vulkan7` is refused at `config check` naming the
// devices that exist; a generated tool-call model with `device: Vulkan0, gpu_layers: all` has its layers on
// Vulkan0 (the engine's log and the status say so) and calls the same tool with the same arguments as the
// same model on the CPU, through the real manager; with the Vulkan driver hidden (VK_ICD_FILENAMES pointing
// at nothing) the model starts on the CPU with one warning line.
// Slow by nature (lavapipe loads the model in ~30 s on 2 cores): keep the engine tests here few.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "manager/manager.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

config::GetEnv NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::string ToolCallModel(const TempDir& dir) {
  auto out = dir.path() / "toolcall.gguf";
  auto r = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", out.string(), "--tool-call", "calculator",
                       R"({"expression":"2+2"})"},
                      120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out.string();
}

// `llmdesk ARGS` with the engine of scripts/setup named in a config in `dir`.
CommandResult Llmdesk(const TempDir& dir, const std::string& models_yaml, std::vector<std::string> args) {
  auto config = dir.Write("llm_backends.yaml", "engine:\n  llama_server: " + LlamaServerPath().string() +
                                                   "\nmodels:\n" + models_yaml);
  std::vector<std::string> argv = {BinPath("llmdesk").string(), "--config", config.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, 120s);
}

TEST(GpuLavapipe, DevicesListsLavapipeAsVulkan0) {
  TempDir dir;
  auto r = Llmdesk(dir, "  a:\n    model: /nowhere.gguf\n", {"devices", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << r.out;
  EXPECT_NE(std::find(report["backends_built"].begin(), report["backends_built"].end(), "vulkan"),
            report["backends_built"].end())
      << "scripts/build-engine builds the Vulkan backend: " << r.out;
  bool lavapipe = false;
  for (const auto& d : report["devices"])
    lavapipe |= d.value("name", "") == "Vulkan0" && d.value("description", "").find("llvmpipe") != std::string::npos;
  EXPECT_TRUE(lavapipe) << r.out;
}

TEST(GpuLavapipe, ConfigCheckRefusesADeviceThatDoesNotExistNamingTheOnesThatDo) {
  TempDir dir;
  auto r = Llmdesk(dir, "  big:\n    model: /nowhere.gguf\n    device: Vulkan7\n", {"config", "check"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("llm_backends.yaml:6:13: error: models.big.device: device 'Vulkan7' does not exist"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("cpu, Vulkan0 (llvmpipe"), std::string::npos) << r.err;
}

// Two backends of one generated tool-call model, one on the CPU and one on lavapipe, under one manager.
class GpuManager : public ::testing::Test {
 protected:
  std::unique_ptr<manager::Manager> Make(const std::string& models_yaml) {
    auto loaded = config::LoadString("models:\n" + models_yaml, (dir_.path() / "llm_backends.yaml").string(), NoEnv());
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.errors().front().ToString());
    manager::Options o;
    o.config = loaded.config;
    const int base = FreePortRange(8);
    o.config.ports.range_first = base, o.config.ports.range_last = base + 7;
    o.llama_server = LlamaServerPath();
    o.state_dir = dir_.path() / "state";
    o.log_dir = dir_.path() / "logs";
    auto m = manager::Manager::Create(std::move(o));
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    sub_ = m.value()->Subscribe([this](const manager::Event& e) {
      std::lock_guard lock(mu_);
      if (e.kind == manager::Event::Kind::kWarning) warnings_.push_back(e.reason);
    });
    return std::move(m).value();
  }

  static manager::BackendStatus WaitReady(manager::Manager& m, const std::string& name) {
    auto s = m.WaitUntil(name, [](const manager::BackendStatus& st) {
      return st.state == manager::State::kReady || st.state == manager::State::kFailed;
    }, 240s);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : manager::BackendStatus{};
  }

  // The tool call the model answers "What's 2+2?" with (name and parsed arguments), or null.
  static json ToolCall(int port) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(180s);
    json tool = {{"type", "function"},
                 {"function", {{"name", "calculator"},
                               {"parameters", {{"type", "object"},
                                               {"properties", {{"expression", {{"type", "string"}}}}}}}}}};
    json request = {{"messages", json::array({{{"role", "user"}, {"content", "What's 2+2?"}}})},
                    {"tools", json::array({tool})}};
    auto res = client.Post("/v1/chat/completions", request.dump(), "application/json");
    if (!res || res->status != 200) {
      ADD_FAILURE() << "chat failed: " << (res ? res->body : httplib::to_string(res.error()));
      return nullptr;
    }
    json reply = json::parse(res->body, nullptr, false);
    const json* calls = reply.is_object() ? &reply["choices"][0]["message"]["tool_calls"] : nullptr;
    if (!calls || !calls->is_array() || calls->empty()) {
      ADD_FAILURE() << "no tool call: " << res->body;
      return nullptr;
    }
    const json& f = (*calls)[0]["function"];
    return {{"name", f.value("name", "")},
            {"arguments", json::parse(f.value("arguments", std::string("null")), nullptr, false)}};
  }

  std::vector<std::string> Warnings() {
    std::lock_guard lock(mu_);
    return warnings_;
  }

  TempDir dir_;
  std::mutex mu_;
  std::vector<std::string> warnings_;
  manager::Subscription sub_;
};

TEST_F(GpuManager, ToolCallOnVulkan0WithAllLayersEqualsTheCpuRun) {
  const std::string model = ToolCallModel(dir_);
  auto m = Make("  on_cpu:\n    model: " + model + "\n    device: cpu\n    args: [--ctx-size, \"512\"]\n" +
                "  on_gpu:\n    model: " + model + "\n    device: Vulkan0\n    gpu_layers: all\n" +
                "    args: [--ctx-size, \"512\"]\n    startup_timeout: 240\n");
  ASSERT_TRUE(m->Start("on_gpu").ok());
  ASSERT_TRUE(m->Start("on_cpu").ok());
  auto gpu = WaitReady(*m, "on_gpu");
  auto cpu = WaitReady(*m, "on_cpu");
  ASSERT_EQ(gpu.state, manager::State::kReady) << gpu.reason;
  ASSERT_EQ(cpu.state, manager::State::kReady) << cpu.reason;

  const std::string log = ReadFileBytes(gpu.log_file);
  EXPECT_NE(log.find("-dev Vulkan0 -ngl all"), std::string::npos) << log.substr(0, 2000);
  EXPECT_NE(log.find("Vulkan0 model buffer size"), std::string::npos) << "layers on the Vulkan device:\n" << log;
  EXPECT_EQ(gpu.placement.device, "Vulkan0");
  EXPECT_GT(gpu.placement.layers_total, 0);
  EXPECT_EQ(gpu.placement.layers_offloaded, gpu.placement.layers_total);
  EXPECT_GT(gpu.placement.device_mib, 0);
  EXPECT_TRUE(gpu.placement.note.empty()) << gpu.placement.note;
  EXPECT_NE(ReadFileBytes(cpu.log_file).find("-dev none"), std::string::npos);
  EXPECT_NE(cpu.placement.device, "Vulkan0");

  json on_cpu = ToolCall(cpu.port);
  json on_gpu = ToolCall(gpu.port);
  EXPECT_EQ(on_cpu, json({{"name", "calculator"}, {"arguments", {{"expression", "2+2"}}}}));
  EXPECT_EQ(on_gpu, on_cpu) << "the same model on Vulkan0 must answer as on the CPU";
}

TEST_F(GpuManager, WithoutAVulkanDriverTheModelStartsOnTheCpuWithOneLine) {
  const std::string model = ToolCallModel(dir_);
  auto m = Make("  no_driver:\n    model: " + model + "\n    device: Vulkan0\n    gpu_layers: all\n" +
                "    env: {VK_ICD_FILENAMES: " + (dir_.path() / "no-such-icd.json").string() + "}\n" +
                "    args: [--ctx-size, \"512\"]\n");
  ASSERT_TRUE(m->Start("no_driver").ok());
  auto s = WaitReady(*m, "no_driver");
  ASSERT_EQ(s.state, manager::State::kReady) << s.reason;
  auto warnings = Warnings();
  ASSERT_EQ(warnings.size(), 1u) << "one clear line";
  EXPECT_EQ(warnings[0], "Vulkan0: no Vulkan device here (driver missing, or hidden by the environment): running on "
                         "the CPU");
  EXPECT_EQ(s.placement.note, warnings[0]);
  EXPECT_EQ(s.placement.device, "CPU");
  EXPECT_NE(ReadFileBytes(s.log_file).find("-dev none"), std::string::npos);
}

}  // namespace
}  // namespace llmdesk::test
