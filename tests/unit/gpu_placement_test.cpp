// Issue 15 without a GPU: what `llama-server --list-devices` and its loading log say, read as devices and as
// a model's placement; what a model entry's device:/gpu_layers: mean (config errors, llama-server argv); and
// what a named device means on a machine that has it, has another one, or has no driver for it.
#include <gtest/gtest.h>

#include "config/config.h"
#include "control/control.h"
#include "engine/devices.h"
#include "manager/placement.h"
#include "manager/spawn.h"

namespace llmdesk {
namespace {

config::GetEnv NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

// Recorded from this version's llama-server (lavapipe exposed with GGML_VK_VISIBLE_DEVICES=0).
constexpr const char* kListDevices =
    "ggml_vulkan: Found 1 Vulkan devices:\n"
    "ggml_vulkan: 0 = llvmpipe (LLVM 15.0.6, 256 bits) (llvmpipe) | uma: 0 | fp16: 1 | bf16: 0 | warp size: 8\n"
    "Available devices:\n"
    "  Vulkan0: llvmpipe (LLVM 15.0.6, 256 bits) (24035 MiB, 24035 MiB free)\n"
    "  CUDA0: NVIDIA GeForce RTX 4070 (12281 MiB, 11906 MiB free)\n";

TEST(GpuDevices, ParsesTheDeviceListWithParenthesesInTheName) {
  auto devices = engine::ParseDeviceList(kListDevices);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].name, "Vulkan0");
  EXPECT_EQ(devices[0].backend, "Vulkan");
  EXPECT_EQ(devices[0].description, "llvmpipe (LLVM 15.0.6, 256 bits)");
  EXPECT_EQ(devices[0].total_mib, 24035);
  EXPECT_EQ(devices[1].name, "CUDA0");
  EXPECT_EQ(devices[1].free_mib, 11906);
  EXPECT_TRUE(engine::ParseDeviceList("Available devices:\n  (none)\n").empty());
  EXPECT_TRUE(engine::ParseDeviceList("no list here\n  Vulkan0: x (1 MiB, 1 MiB free)\n").empty());
  EXPECT_TRUE(engine::ParseDeviceList(std::string(100000, '(')).empty());  // hostile output: no crash, nothing
}

engine::DeviceReport Report(std::vector<std::string> built, std::string_view list) {
  engine::DeviceReport r;
  r.backends_built = std::move(built);
  r.devices = engine::ParseDeviceList(list);
  return r;
}

TEST(GpuDevices, ANamedDeviceExistsIsMissingOrFallsBackToTheCpu) {
  auto with_vulkan = Report({"cpu", "vulkan"}, "Available devices:\n  Vulkan0: llvmpipe (100 MiB, 90 MiB free)\n");
  auto here = engine::ChooseDevice("Vulkan0", with_vulkan);
  EXPECT_EQ(here.kind, engine::DeviceChoice::Kind::kAsConfigured);
  ASSERT_NE(here.device, nullptr);
  auto missing = engine::ChooseDevice("Vulkan7", with_vulkan);
  EXPECT_EQ(missing.kind, engine::DeviceChoice::Kind::kMissing);
  EXPECT_NE(missing.message.find("Vulkan7"), std::string::npos) << missing.message;
  EXPECT_NE(missing.message.find("cpu, Vulkan0 (llvmpipe)"), std::string::npos) << missing.message;

  auto no_driver = Report({"cpu", "vulkan"}, "Available devices:\n  (none)\n");
  auto fallback = engine::ChooseDevice("Vulkan0", no_driver);
  EXPECT_EQ(fallback.kind, engine::DeviceChoice::Kind::kCpuFallback);
  EXPECT_NE(fallback.message.find("running on the CPU"), std::string::npos) << fallback.message;
  EXPECT_NE(engine::ChooseDevice("CUDA0", no_driver).message.find("built without the CUDA backend"), std::string::npos);
  EXPECT_EQ(engine::ChooseDevice("cpu", no_driver).kind, engine::DeviceChoice::Kind::kAsConfigured);
}

config::ModelConfig Model(std::string device, std::string layers) {
  config::ModelConfig m;
  m.name = "m";
  m.model = "/m.gguf";
  m.device = std::move(device);
  m.gpu_layers = std::move(layers);
  return m;
}

TEST(GpuPlacement, ReadsDeviceLayersAndMemoryFromTheEngineLog) {
  auto m = Model("Vulkan0", "all");
  manager::Placement p;
  EXPECT_FALSE(manager::UpdatePlacement(p, "load_tensors: loading model tensors, this can take a while...", m));
  EXPECT_TRUE(manager::UpdatePlacement(
      p, "llama_model_load_from_file_impl: using device Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits)) (unknown id) - 24035 MiB free", m));
  EXPECT_TRUE(manager::UpdatePlacement(p, "load_tensors: offloaded 5/5 layers to GPU", m));
  EXPECT_TRUE(manager::UpdatePlacement(p, "load_tensors:   CPU_Mapped model buffer size =     1.00 MiB", m) == false);
  EXPECT_TRUE(manager::UpdatePlacement(p, "load_tensors:      Vulkan0 model buffer size =    36.10 MiB", m));
  EXPECT_TRUE(manager::UpdatePlacement(p, "llama_kv_cache:    Vulkan0 KV buffer size =     4.00 MiB", m));
  EXPECT_FALSE(manager::UpdatePlacement(p, "llama_context: Vulkan_Host  output buffer size =     0.58 MiB", m));
  EXPECT_TRUE(manager::UpdatePlacement(p, "llama_context:    Vulkan0 compute buffer size =    70.50 MiB", m));
  EXPECT_EQ(p.device, "Vulkan0");
  EXPECT_EQ(p.layers_offloaded, 5);
  EXPECT_EQ(p.layers_total, 5);
  EXPECT_NEAR(p.device_mib, 110.6, 1e-9);
  EXPECT_TRUE(p.note.empty()) << p.note;
}

TEST(GpuPlacement, NothingOffloadedIsOneNoteOnlyWhenAGpuWasAskedFor) {
  manager::Placement asked;
  manager::UpdatePlacement(asked, "load_tensors: offloaded 5/5 layers to GPU", Model("Vulkan0", "auto"));
  EXPECT_EQ(asked.layers_offloaded, 0) << "no `using device` line: llama-server used no device";
  EXPECT_EQ(asked.device, "CPU");
  EXPECT_EQ(asked.note, "no layer went to Vulkan0: it runs on the CPU");
  manager::Placement plain;
  manager::UpdatePlacement(plain, "load_tensors: offloaded 0/5 layers to GPU", Model("", "auto"));
  EXPECT_TRUE(plain.note.empty()) << "a CPU-only machine is not a fallback: " << plain.note;
  manager::Placement partial;
  manager::UpdatePlacement(partial, "f: using device CUDA0 (NVIDIA GeForce RTX 4070) (0000:01:00.0) - 11906 MiB free",
                           Model("", "auto"));
  manager::UpdatePlacement(partial, "load_tensors: offloaded 3/5 layers to GPU", Model("", "auto"));
  EXPECT_NE(partial.note.find("3 of 5 layers"), std::string::npos) << partial.note;
  manager::Placement hostile;
  EXPECT_FALSE(manager::UpdatePlacement(hostile, std::string(200000, '9') + "/ layers to GPU offloaded ", Model("", "all")));
}

TEST(GpuPlacement, DeviceAndLayersBecomeLlamaServerArguments) {
  auto argv = [](const config::ModelConfig& m) { return manager::BuildSpawnSpec(m, "/llama-server", 10500).argv; };
  auto has = [](const std::vector<std::string>& v, const std::vector<std::string>& seq) {
    return std::search(v.begin(), v.end(), seq.begin(), seq.end()) != v.end();
  };
  EXPECT_TRUE(has(argv(Model("Vulkan0", "all")), {"-dev", "Vulkan0", "-ngl", "all"}));
  EXPECT_TRUE(has(argv(Model("CUDA0", "12")), {"-dev", "CUDA0", "-ngl", "12"}));
  EXPECT_TRUE(has(argv(Model("cpu", "auto")), {"-dev", "none"}));
  auto defaults = argv(Model("", "auto"));
  EXPECT_FALSE(has(defaults, {"-dev"}) || has(defaults, {"-ngl"})) << "auto leaves the choice to the engine";
}

TEST(GpuConfig, DeviceAndGpuLayersAreCheckedWithTheirPlace) {
  auto ok = config::LoadString("models:\n  a:\n    model: /a.gguf\n    device: Vulkan0\n    gpu_layers: all\n"
                               "  b:\n    model: /b.gguf\n    gpu_layers: 20\n",
                               "f.yaml", NoEnv());
  ASSERT_TRUE(ok.ok()) << ok.diagnostics.front().ToString();
  EXPECT_EQ(ok.config.models[0].device, "Vulkan0");
  EXPECT_EQ(ok.config.models[0].device_where.ToString(), "f.yaml:4:13");
  EXPECT_EQ(ok.config.models[0].gpu_layers, "all");
  EXPECT_EQ(ok.config.models[1].gpu_layers, "20");
  EXPECT_EQ(ok.config.models[1].device, "");

  auto bad = config::LoadString("models:\n  a:\n    model: /a.gguf\n    device: the big one\n    gpu_layers: most\n",
                                "f.yaml", NoEnv());
  ASSERT_EQ(bad.errors().size(), 2u);
  EXPECT_NE(bad.errors()[0].ToString().find("f.yaml:4:13: error: models.a.device: expected 'cpu' or a device name"),
            std::string::npos) << bad.errors()[0].ToString();
  EXPECT_NE(bad.errors()[1].ToString().find("f.yaml:5:17: error: models.a.gpu_layers: expected auto"), std::string::npos)
      << bad.errors()[1].ToString();
  auto cpu_layers = config::LoadString("models:\n  a:\n    model: /a.gguf\n    device: cpu\n    gpu_layers: all\n",
                                       "f.yaml", NoEnv());
  EXPECT_FALSE(cpu_layers.ok());
}

TEST(GpuStatus, PlacementTravelsThroughTheControlApiAndShowsInTheStatusTable) {
  manager::BackendStatus s;
  s.name = "qwen";
  s.state = manager::State::kReady;
  s.port = 10500;
  s.placement = {.device = "Vulkan0", .layers_offloaded = 20, .layers_total = 29, .device_mib = 3012.4,
                 .note = "20 of 29 layers on Vulkan0; the rest did not fit and run on the CPU"};
  auto back = control::BackendStatusFromJson(control::ToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->placement.device, "Vulkan0");
  EXPECT_EQ(back->placement.layers_offloaded, 20);
  EXPECT_EQ(back->placement.layers_total, 29);
  EXPECT_EQ(back->placement.note, s.placement.note);
  const std::string table = control::FormatStatusTable({*back});
  EXPECT_NE(table.find("on Vulkan0: 20/29 layers, 3012 MiB on the device"), std::string::npos) << table;
  EXPECT_NE(table.find("note: 20 of 29 layers on Vulkan0; the rest did not fit"), std::string::npos) << table;

  manager::BackendStatus unknown;  // before the engine said anything: no placement key, no line
  unknown.name = "x";
  EXPECT_FALSE(control::ToJson(unknown).contains("placement"));
  auto bad = control::ToJson(s);
  bad["placement"] = {{"device", 7}, {"layers_total", "many"}};  // wrong types from a peer: ignored, no throw
  auto parsed = control::BackendStatusFromJson(bad);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->placement.device, "");
  EXPECT_EQ(parsed->placement.layers_total, -1);
}

}  // namespace
}  // namespace llmdesk
