// A model entry's `device:` and `gpu_layers:` (issue 15): their shape only; whether the device exists on this
// machine takes the engine (engine::CheckModelDevices, run by `config check` and before each start).
#include <algorithm>
#include <cctype>

#include "config/sections.h"

namespace llmdesk::config::detail {
namespace {

constexpr size_t kMaxDeviceBytes = 64;

// "cpu", or a device name as llama-server prints it: letters, then the index ("Vulkan0", "CUDA1").
bool IsDeviceName(std::string_view s) {
  if (s == "cpu") return true;
  size_t letters = 0;
  while (letters < s.size() && std::isalpha(static_cast<unsigned char>(s[letters]))) ++letters;
  return letters > 0 && letters < s.size() &&
         std::all_of(s.begin() + letters, s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

void ParseModelPlacement(YamlReader& r, const YAML::Node& node, const std::string& key, ModelConfig& out) {
  if (node["device"] && !node["device"].IsNull()) {
    auto v = r.String(node["device"], key + ".device", kMaxDeviceBytes);
    if (v && !IsDeviceName(*v))
      r.Error(node["device"], key + ".device", "expected 'cpu' or a device name such as Vulkan0 or CUDA0 (`llmdesk "
                                               "devices` lists this machine's), got '" + Shown(*v) + "'");
    else if (v)
      out.device = *v, out.device_where = r.Loc(node["device"]);
  }
  if (node["gpu_layers"]) {
    const YAML::Node& g = node["gpu_layers"];
    auto text = g.IsScalar() ? std::optional<std::string>(g.Scalar()) : std::nullopt;
    const bool count = text && !text->empty() && text->size() <= 6 &&
                       std::all_of(text->begin(), text->end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (text && (*text == "auto" || *text == "all"))
      out.gpu_layers = *text;
    else if (count)
      out.gpu_layers = std::to_string(std::stoi(*text));  // at most 6 digits: cannot throw
    else
      r.Error(g, key + ".gpu_layers", "expected auto (the engine fits layers to free device memory), all, or a number "
                                      "of layers, got '" + (text ? Shown(*text) : std::string("a list or map")) + "'");
  }
  if (out.device == "cpu" && out.gpu_layers != "auto" && out.gpu_layers != "0")
    r.Error(node["gpu_layers"], key + ".gpu_layers", "device: cpu runs no layer on a GPU: remove gpu_layers, or name a GPU "
                                                     "device (`llmdesk devices`)");
}

}  // namespace llmdesk::config::detail
