// `config check`'s device diagnostics (cli.h: AddDeviceDiagnostics) on Windows, whose engine is CPU-only so far
// (scripts/build-engine-windows; docs/WINDOWS.md): a GPU `device:` cannot be checked, and the check says so instead of
// passing it in silence.
#include <algorithm>

#include "cli.h"

namespace llmdesk::cli {

void AddDeviceDiagnostics(config::LoadResult& loaded) {
  const auto& models = loaded.config.models;
  if (std::none_of(models.begin(), models.end(), [](const auto& m) { return !m.device.empty() && m.device != "cpu"; }))
    return;
  loaded.diagnostics.push_back({config::Diagnostic::Severity::kWarning, {loaded.config.source, 0, 0}, "",
                                "devices not checked: the Windows engine is CPU-only so far (docs/WINDOWS.md)"});
}

}  // namespace llmdesk::cli
