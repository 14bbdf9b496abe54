// `llmdesk devices [--json]`: the compute devices the engine sees, the backends it was built with and the
// drivers that are missing (engine/devices.h). `llmdesk doctor` prints the same lines (PrintDevices).
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "engine/devices.h"
#include "engine/engine.h"

namespace llmdesk::cli {
namespace {

nlohmann::json ToJson(const engine::DeviceReport& r) {
  nlohmann::json devices = nlohmann::json::array();
  devices.push_back({{"name", "cpu"}, {"backend", "CPU"}, {"description", "the CPU backend (always there)"}});
  for (const auto& d : r.devices)
    devices.push_back({{"name", d.name}, {"backend", d.backend}, {"description", d.description},
                       {"memory_total_mib", d.total_mib}, {"memory_free_mib", d.free_mib}, {"software", d.software}});
  return {{"devices", devices}, {"backends_built", r.backends_built}, {"notes", r.notes}};
}

std::string MemoryText(const engine::Device& d) {
  if (d.total_mib < 0) return "";
  return fmt::format("{} MiB, {} MiB free", d.total_mib, d.free_mib);
}

}  // namespace

Result<engine::DeviceReport> ProbeConfiguredEngine(const config::Config& cfg) {
  auto located = engine::LocateLlamaServer(cfg.engine, config::ProcessEnv());
  if (!located.ok()) return located.status();
  return engine::ProbeDevices(located->path);
}

void PrintDevices(const engine::DeviceReport& r, std::ostream& out, const std::string& indent) {
  out << indent << fmt::format("{:<10} {:<8} {:<44} {}\n", "DEVICE", "BACKEND", "DESCRIPTION", "MEMORY");
  out << indent << fmt::format("{:<10} {:<8} {:<44} {}\n", "cpu", "CPU", "the CPU (always there)", "-");
  for (const auto& d : r.devices)
    out << indent << fmt::format("{:<10} {:<8} {:<44} {}\n", d.name, d.backend,
                                 d.description + (d.software ? " [software]" : ""), MemoryText(d));
  std::string built;
  for (const auto& b : r.backends_built) built += (built.empty() ? "" : ", ") + b;
  out << indent << "backends built: " << (built.empty() ? "(none found next to llama-server)" : built) << "\n";
  for (const auto& note : r.notes) out << indent << "note: " << note << "\n";
}

void RegisterDevicesCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("devices", "List the compute devices (GPUs) the engine sees; name one in a "
                                            "model entry with `device:`");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&ctx, json] {
    auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
    if (!cfg) {
      ctx.exit_code = kExitBadConfig;
      return;
    }
    auto report = ProbeConfiguredEngine(*cfg);
    if (!report.ok()) {
      std::cerr << "llmdesk: " << report.status().message() << "\n";
      ctx.exit_code = kExitFailure;
      return;
    }
    if (*json) std::cout << ToJson(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else PrintDevices(*report, std::cout, "");
  });
}

}  // namespace llmdesk::cli
