#include "engine/devices.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "engine/engine_files.h"
#include "platform/user_dirs.h"
#include "process/process.h"

namespace llmdesk::engine {
namespace {

constexpr const char* kVkVisibleEnv = "GGML_VK_VISIBLE_DEVICES";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<long long> Number(std::string_view s) {
  s = Trim(s);
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "DESCRIPTION (TOTAL MiB, FREE MiB free)": the memory part is the last parenthesis.
void SplitDescription(std::string_view text, Device& d) {
  text = Trim(text);
  size_t open = text.rfind(" (");
  if (open != std::string_view::npos && text.size() > open + 2 && text.back() == ')') {
    std::string_view inside = text.substr(open + 2, text.size() - open - 3);  // "TOTAL MiB, FREE MiB free"
    size_t comma = inside.find(", ");
    if (comma != std::string_view::npos && inside.substr(0, comma).ends_with(" MiB") &&
        inside.ends_with(" MiB free")) {
      auto total = Number(inside.substr(0, comma - 4));
      auto free = Number(inside.substr(comma + 2, inside.size() - comma - 2 - 9));
      if (total && free) {
        d.total_mib = *total, d.free_mib = *free;
        text = text.substr(0, open);
      }
    }
  }
  d.description = std::string(text);
}

Result<std::vector<Device>> ListOnce(const std::filesystem::path& llama_server,
                                     const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout) {
  auto run = process::RunCapture({platform::PathToUtf8(llama_server), "--list-devices"}, timeout, 256 * 1024, env);
  if (!run.ok()) return run.status();
  if (run->output.find("Available devices:") == std::string::npos)
    return Status::Internal(platform::PathToUtf8(llama_server) + " --list-devices printed no device list (exit " +
                            std::to_string(run->exit_code) + "): " + run->output.substr(0, 300));
  return ParseDeviceList(run->output);
}

bool HasBackend(const std::vector<Device>& devices, std::string_view backend) {
  return std::any_of(devices.begin(), devices.end(), [&](const Device& d) { return Lower(d.backend) == Lower(backend); });
}

}  // namespace

std::string BackendOf(std::string_view name) {
  size_t end = name.size();
  while (end > 0 && std::isdigit(static_cast<unsigned char>(name[end - 1]))) --end;
  return std::string(name.substr(0, end));
}

std::vector<Device> ParseDeviceList(std::string_view output) {
  std::vector<Device> out;
  size_t at = output.find("Available devices:");
  if (at == std::string_view::npos) return out;
  output.remove_prefix(at);
  size_t nl = output.find('\n');
  output.remove_prefix(nl == std::string_view::npos ? output.size() : nl + 1);
  while (!output.empty()) {
    nl = output.find('\n');
    std::string_view line = output.substr(0, nl);
    output.remove_prefix(nl == std::string_view::npos ? output.size() : nl + 1);
    if (!line.starts_with("  ")) continue;  // a backend's own log line between the entries
    line = Trim(line);
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0 || colon > 64) continue;  // "(none)"
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' ||
                 c == '[' || c == ']';
        }))
      continue;
    Device d;
    d.name = std::string(name);
    d.backend = BackendOf(name);
    SplitDescription(line.substr(colon + 2), d);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<std::string> BuiltBackends(const std::filesystem::path& llama_server) {
  std::vector<std::string> out;
  std::error_code ec;  // the path is the user's (engine.llama_server): never the throwing overloads
  auto dir = std::filesystem::canonical(llama_server, ec).parent_path();
  if (ec) return out;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto module = BackendModuleName(platform::PathToUtf8(it->path().filename()));
    if (!module) continue;
    std::string name = std::move(*module);
    if (name == "base") continue;
    if (name.starts_with("cpu")) name = "cpu";  // libggml-cpu-haswell.so etc. (GGML_CPU_ALL_VARIANTS)
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<DeviceReport> ProbeDevices(const std::filesystem::path& llama_server,
                                  const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout) {
  DeviceReport report;
  report.backends_built = BuiltBackends(llama_server);
  auto listed = ListOnce(llama_server, env, timeout);
  if (!listed.ok()) return listed.status();
  report.devices = std::move(*listed);
  const bool vulkan_built = report.Built("vulkan");
  if (vulkan_built && !HasBackend(report.devices, "Vulkan") && !env.count(kVkVisibleEnv)) {
    auto with_env = env;
    with_env[kVkVisibleEnv] = "0";
    if (auto soft = ListOnce(llama_server, with_env, timeout); soft.ok()) {
      for (auto& d : *soft) {
        if (d.backend != "Vulkan") continue;
        d.software = true;
        report.notes.push_back(d.name + " (" + d.description + ") is a software Vulkan device (it runs on the CPU): "
                               "llmdesk uses it only for a model that names it (device: " + d.name +
                               "); it is slower than the CPU backend and is there for testing");
        report.devices.push_back(std::move(d));
      }
    }
  }
  if (vulkan_built && !HasBackend(report.devices, "Vulkan"))
    report.notes.push_back("the Vulkan backend is built, but no Vulkan device is available: install your GPU's Vulkan "
                           "driver (Debian: mesa-vulkan-drivers for AMD/Intel, the NVIDIA driver's Vulkan ICD) and "
                           "libvulkan1; check VK_ICD_FILENAMES if it is set");
  if (report.Built("cuda") && !HasBackend(report.devices, "CUDA"))
    report.notes.push_back("the CUDA backend is built, but no CUDA device is available: install the NVIDIA driver");
  if (!report.Built("vulkan") && !report.Built("cuda"))
    report.notes.push_back("the engine has no GPU backend (built before Vulkan support, or without glslc): run "
                           "scripts/setup to rebuild it");
  return report;
}

std::map<std::string, std::string> DeviceEnv(const Device& device) {
  if (device.software) return {{kVkVisibleEnv, "0"}};
  return {};
}

const Device* DeviceReport::Find(std::string_view name) const {
  for (const auto& d : devices)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<std::string> DeviceReport::Names() const {
  std::vector<std::string> out{"cpu"};
  for (const auto& d : devices) out.push_back(d.name);
  return out;
}

std::string DeviceReport::Describe() const {
  std::string out = "cpu";
  for (const auto& d : devices) out += ", " + d.name + " (" + d.description + (d.software ? ", software" : "") + ")";
  return out;
}

bool DeviceReport::Built(std::string_view backend) const {
  return std::find(backends_built.begin(), backends_built.end(), Lower(backend)) != backends_built.end();
}

DeviceChoice ChooseDevice(const std::string& wanted, const DeviceReport& report) {
  DeviceChoice choice;
  if (wanted.empty() || Lower(wanted) == "cpu") return choice;
  if ((choice.device = report.Find(wanted))) return choice;
  const std::string backend = BackendOf(wanted);
  if (HasBackend(report.devices, backend)) {
    choice.kind = DeviceChoice::Kind::kMissing;
    choice.message = "device '" + wanted + "' does not exist here; the devices are: " + report.Describe() +
                     " (`llmdesk devices` lists them)";
    return choice;
  }
  choice.kind = DeviceChoice::Kind::kCpuFallback;
  choice.message = report.Built(backend)
                       ? "no " + backend + " device here (driver missing, or hidden by the environment): running on the CPU"
                       : "the engine was built without the " + backend + " backend: running on the CPU";
  return choice;
}

std::vector<config::Diagnostic> CheckModelDevices(const config::Config& config,
                                                  const std::filesystem::path& llama_server) {
  std::vector<config::Diagnostic> out;
  std::map<std::map<std::string, std::string>, Result<DeviceReport>> probes;
  for (const auto& m : config.models) {
    if (m.kind != config::ModelConfig::Kind::kLocal || m.device.empty() || m.device == "cpu") continue;
    auto it = probes.find(m.env);
    if (it == probes.end()) it = probes.emplace(m.env, ProbeDevices(llama_server, m.env)).first;
    const std::string key = "models." + m.name + ".device";
    using Severity = config::Diagnostic::Severity;
    if (!it->second.ok()) {
      out.push_back({Severity::kWarning, m.device_where, key,
                     "cannot check that " + m.device + " exists: " + it->second.status().message()});
      continue;
    }
    auto choice = ChooseDevice(m.device, *it->second);
    if (choice.kind == DeviceChoice::Kind::kMissing)
      out.push_back({Severity::kError, m.device_where, key, choice.message});
    else if (choice.kind == DeviceChoice::Kind::kCpuFallback)
      out.push_back({Severity::kWarning, m.device_where, key, choice.message + " (when started on this machine)"});
  }
  return out;
}

}  // namespace llmdesk::engine
