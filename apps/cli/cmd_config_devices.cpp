// `config check`'s device diagnostics (cli.h: AddDeviceDiagnostics) through the engine.
#include <algorithm>

#include "cli.h"
#include "engine/devices.h"
#include "engine/engine.h"

namespace llmdesk::cli {

// `device:` entries need the engine to check (issue 15): one `llama-server --list-devices` per distinct env,
// only when a model names a GPU device. No engine: a warning, the rest of the check stands.
void AddDeviceDiagnostics(config::LoadResult& loaded) {
  const auto& models = loaded.config.models;
  if (std::none_of(models.begin(), models.end(), [](const auto& m) { return !m.device.empty() && m.device != "cpu"; }))
    return;
  auto located = engine::LocateLlamaServer(loaded.config.engine, config::ProcessEnv());
  if (!located.ok()) {
    loaded.diagnostics.push_back({config::Diagnostic::Severity::kWarning, {loaded.config.source, 0, 0}, "",
                                  "devices not checked: " + located.status().message()});
    return;
  }
  for (auto& d : engine::CheckModelDevices(loaded.config, located->path)) loaded.diagnostics.push_back(std::move(d));
}

}  // namespace llmdesk::cli
