// manager/engine_output.h — what an engine's output lines say (private to src/manager; pure functions).
// Lines come from engines and may be long or hostile: every function here is a linear scan, no regex.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llmdesk::manager {

struct LoadProgress {
  std::string stage;           // "loading model", "loading tensors", "warming up", "model loaded", ...
  double progress = -1;        // a printed percentage, else a coarse estimate for the stage
  bool worth_probing = false;  // the server likely answers /health now: probe at once
};
// nullopt when the line says nothing about loading.
std::optional<LoadProgress> ParseLoadLine(std::string_view line);
// llama-server: "couldn't bind HTTP server socket"; others: "address already in use", EADDRINUSE.
bool IsAddressInUseLine(std::string_view line);

}  // namespace llmdesk::manager
