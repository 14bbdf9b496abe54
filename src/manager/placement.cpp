#include "manager/placement.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace llmdesk::manager {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

template <typename T>
std::optional<T> Parse(std::string_view s) {
  s = Trim(s);
  T v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr == s.data()) return std::nullopt;
  return v;
}

// A GPU device's buffer: "Vulkan0", "CUDA1" (letters then digits). CPU, CPU_Mapped, Vulkan_Host are not.
bool IsDeviceBuffer(std::string_view name) {
  size_t letters = 0;
  while (letters < name.size() && std::isalpha(static_cast<unsigned char>(name[letters]))) ++letters;
  if (letters == 0 || letters == name.size() || name.substr(0, 3) == "CPU") return false;
  return std::all_of(name.begin() + letters, name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool GpuAskedFor(const config::ModelConfig& m) {
  if (m.device == "cpu") return false;
  return !m.device.empty() || (m.gpu_layers != "auto" && m.gpu_layers != "0");
}

// "llama_model_load_from_file_impl: using device Vulkan0 (llvmpipe ...) (...) - 7936 MiB free": printed
// before the layers are placed, once per device the model may use.
bool TakeDevice(Placement& p, std::string_view line) {
  size_t at = line.find(": using device ");
  if (at == std::string_view::npos) return false;
  std::string_view name = line.substr(at + 15);
  name = name.substr(0, name.find(' '));
  if (!IsDeviceBuffer(name) || !p.device.empty()) return false;
  p.device = std::string(name);
  return true;
}

// "... offloaded 5/6 layers to GPU". llama-server prints the count it was asked for even when it uses no
// device (-dev none): without a "using device" line first, nothing is offloaded.
bool TakeOffloaded(Placement& p, std::string_view line) {
  size_t at = line.find("offloaded ");
  size_t end = line.find(" layers to GPU");
  if (at == std::string_view::npos || end == std::string_view::npos || end < at) return false;
  std::string_view ratio = line.substr(at + 10, end - at - 10);
  size_t slash = ratio.find('/');
  if (slash == std::string_view::npos) return false;
  auto done = Parse<int>(ratio.substr(0, slash)), total = Parse<int>(ratio.substr(slash + 1));
  if (!done || !total) return false;
  p.layers_offloaded = IsDeviceBuffer(p.device) ? std::min(*done, *total) : 0, p.layers_total = *total;
  return true;
}

// "<fn>: <NAME> (model|KV|compute|...) buffer size = <MiB> MiB"
bool TakeBuffer(Placement& p, std::string_view line) {
  size_t size_at = line.find(" buffer size = ");
  size_t colon = line.find(": ");
  if (size_at == std::string_view::npos || colon == std::string_view::npos || colon > size_at) return false;
  std::string_view words = Trim(line.substr(colon + 2, size_at - colon - 2));  // "Vulkan0 model"
  std::string_view name = words.substr(0, words.find(' '));
  if (!IsDeviceBuffer(name)) return false;
  std::string_view value = line.substr(size_at + 15);
  auto mib = Parse<double>(value.substr(0, value.find(" MiB")));
  if (!mib) return false;
  p.device_mib += *mib;
  if (p.device.empty() || p.device == "CPU") p.device = std::string(name);
  return true;
}

void Judge(Placement& p, const config::ModelConfig& m) {
  p.note.clear();
  if (p.layers_total <= 0) return;
  if (p.layers_offloaded == 0) {
    if (p.device.empty()) p.device = "CPU";
    if (GpuAskedFor(m))
      p.note = m.device.empty() ? "no layer went to a GPU: it runs on the CPU"
                                : "no layer went to " + m.device + ": it runs on the CPU";
  } else if (p.layers_offloaded < p.layers_total && (m.gpu_layers == "auto" || m.gpu_layers == "all")) {
    p.note = fmt::format("{} of {} layers on {}; the rest did not fit and run on the CPU", p.layers_offloaded,
                         p.layers_total, p.device.empty() ? "the GPU" : p.device);
  }
}

}  // namespace

bool UpdatePlacement(Placement& p, std::string_view line, const config::ModelConfig& model) {
  const Placement before = p;
  if (!TakeDevice(p, line) && !TakeOffloaded(p, line) && !TakeBuffer(p, line)) return false;
  Judge(p, model);
  return p.device != before.device || p.layers_offloaded != before.layers_offloaded ||
         p.layers_total != before.layers_total || p.device_mib != before.device_mib || p.note != before.note;
}

std::vector<std::string> PlacementArgs(const config::ModelConfig& model) {
  std::vector<std::string> args;
  if (model.device == "cpu") return {"-dev", "none"};
  if (!model.device.empty()) args = {"-dev", model.device};
  if (model.gpu_layers != "auto") args.insert(args.end(), {"-ngl", model.gpu_layers});
  return args;
}

}  // namespace llmdesk::manager
