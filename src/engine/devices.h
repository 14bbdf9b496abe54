// engine/devices.h — the compute devices llama-server sees (GPUs through its Vulkan / CUDA backends), which
// backends the engine was built with, and what a model entry's `device:` means on this machine.
//
// How: `llama-server --list-devices` (run with a bounded time; no threads of its own) lists the devices of
// every backend module it could load ("  Vulkan0: NAME (TOTAL MiB, FREE MiB free)"); the modules present
// next to it (bin/libggml-<backend>.so) are the backends built. A backend built but absent from the list
// means its driver is missing: that is a note, never an error.
//
// Software Vulkan devices: ggml-vulkan hides CPU-type Vulkan devices (Mesa's lavapipe, "llvmpipe") unless
// GGML_VK_VISIBLE_DEVICES names them. When the engine sees no Vulkan device at all, ProbeDevices asks once
// more with GGML_VK_VISIBLE_DEVICES=0; a device found that way is listed with `software = true`, and
// DeviceEnv() gives the variable to start an engine on it. It is never used unless a model names it
// (`device: Vulkan0`): on a CPU-only machine it is slower than the CPU backend; it exists for testing.
//
// Errors: ProbeDevices fails only when llama-server cannot run or does not answer; "no GPU" is an empty
// device list plus notes.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace llmdesk::engine {

struct Device {
  std::string name;         // "Vulkan0", "CUDA0": what `device:` and llama-server's -dev take
  std::string backend;      // "Vulkan", "CUDA", ... (the name without its index)
  std::string description;  // "NVIDIA GeForce RTX 4070", "llvmpipe (LLVM 15.0.6, 256 bits)"
  long long total_mib = -1;
  long long free_mib = -1;
  bool software = false;    // a CPU-type Vulkan device, visible only with GGML_VK_VISIBLE_DEVICES (see above)
};

struct DeviceReport {
  std::vector<Device> devices;                // llama-server's order; the CPU is implicit ("cpu")
  std::vector<std::string> backends_built;    // "cpu", "rpc", "vulkan", "cuda": modules next to llama-server
  std::vector<std::string> notes;             // drivers missing, software devices: one line each
  const Device* Find(std::string_view name) const;
  std::vector<std::string> Names() const;     // "cpu" first, then the devices' names
  std::string Describe() const;               // "cpu, Vulkan0 (llvmpipe ...)": for error messages
  bool Built(std::string_view backend) const; // case-insensitive
};

// Parses `llama-server --list-devices` output: lines "  NAME: DESCRIPTION (TOTAL MiB, FREE MiB free)" after
// "Available devices:"; anything else (the backends' own log lines) is ignored. Linear, no regex.
std::vector<Device> ParseDeviceList(std::string_view output);

// The backend modules next to `llama_server` (bin/libggml-<name>.so, GGML_BACKEND_DL builds), lower case.
std::vector<std::string> BuiltBackends(const std::filesystem::path& llama_server);

// Runs llama-server --list-devices with `env` added to ours (a model entry's env: VK_ICD_FILENAMES etc.
// decide what it sees), plus the software Vulkan retry described above. Bounded by `timeout` per run.
Result<DeviceReport> ProbeDevices(const std::filesystem::path& llama_server,
                                  const std::map<std::string, std::string>& env = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The environment an engine needs to see `device` (GGML_VK_VISIBLE_DEVICES=0 for a software device).
std::map<std::string, std::string> DeviceEnv(const Device& device);

// What a model's `device:` means on this machine (report from ProbeDevices with the model's env).
struct DeviceChoice {
  enum class Kind {
    kAsConfigured,  // no device named, or "cpu", or the named device exists: pass it on
    kCpuFallback,   // the named device's backend has no device here (driver missing): run on the CPU
    kMissing,       // the backend has devices, but not this one (Vulkan7 with only Vulkan0): an error
  };
  Kind kind = Kind::kAsConfigured;
  const Device* device = nullptr;  // kAsConfigured with a GPU device
  std::string message;             // kCpuFallback: the one line to show; kMissing: the error with the list
};
DeviceChoice ChooseDevice(const std::string& wanted, const DeviceReport& report);

// `config check`: each local model that names a GPU device, checked against the devices llama-server sees
// with that model's env. A device that does not exist is an error at the `device:` value naming the ones
// that do; a device whose backend has no device here (driver missing) is a warning (the model would run on
// the CPU); an engine that cannot list devices is a warning. One probe per distinct env.
std::vector<config::Diagnostic> CheckModelDevices(const config::Config& config,
                                                  const std::filesystem::path& llama_server);

// "Vulkan0" -> "Vulkan"; "cpu" -> "cpu".
std::string BackendOf(std::string_view device_name);

}  // namespace llmdesk::engine
