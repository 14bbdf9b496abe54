// Turns llama-server's loading output into progress events. llama.cpp v0.4.0 prints no percentage
// while loading a local file (only dots), so stages carry a coarse estimate; a printed "NN%" wins.
#include <algorithm>
#include <cctype>
#include <regex>

#include "manager/internal.h"

namespace llmdesk::manager::internal {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != haystack.end();
}

struct StageRule {
  std::string_view marker;
  std::string_view stage;
  double estimate;
  bool worth_probing;
};

// In the order llama-server prints them.
constexpr StageRule kStages[] = {
    {"load_model: loading model", "loading model", 0.05, false},
    {"loaded meta data", "reading model metadata", 0.15, false},
    {"loading model tensors", "loading tensors", 0.30, false},
    {"threadpool init", "creating context", 0.60, false},
    {"llama_context:", "creating context", 0.60, false},
    {"initializing, n_slots", "initializing slots", 0.75, false},
    {"warming up the model", "warming up", 0.85, false},
    {"model loaded", "model loaded", 0.95, true},
    {"listening on", "listening", 0.97, true},
    {"all slots are idle", "ready", 1.0, true},
    {"uvicorn running on", "listening", 0.97, true},  // Python OpenAI-compatible servers
};

}  // namespace

std::optional<LoadProgress> ParseLoadLine(std::string_view line) {
  std::optional<LoadProgress> out;
  for (const auto& rule : kStages) {
    if (Contains(line, rule.marker)) {
      out = LoadProgress{std::string(rule.stage), rule.estimate, rule.worth_probing};
      break;
    }
  }
  static const std::regex kPercent(R"((\d{1,3}(?:\.\d+)?)\s?%)");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_search(line.begin(), line.end(), m, kPercent)) {
    double pct = std::stod(m[1].str());
    if (pct >= 0 && pct <= 100) {
      if (!out) out = LoadProgress{"loading", 0, false};
      out->progress = pct / 100.0;
    }
  }
  return out;
}

bool IsAddressInUseLine(std::string_view line) {
  return Contains(line, "couldn't bind") || Contains(line, "address already in use") || Contains(line, "EADDRINUSE") ||
         Contains(line, "errno 98");
}

}  // namespace llmdesk::manager::internal
