// Turns llama-server's loading output into progress events. llama.cpp v0.4.0 prints no percentage
// while loading a local file (only dots), so stages carry a coarse estimate; a printed "NN%" wins.
// Lines are engine output of any length: linear scans only (a backtracking regex on a long line of
// digits overflowed the stack).
#include "manager/engine_output.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace llmdesk::manager {
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

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The first "NN%", "NN.N%" or "NN %" in the line with a value in [0, 100], as a fraction. Looks back
// at most a few characters from each '%', so the scan stays linear in the line's length.
std::optional<double> FindPercent(std::string_view line) {
  constexpr size_t kMaxNumber = 12;  // "100.00000000"
  for (size_t pct = line.find('%'); pct != std::string_view::npos; pct = line.find('%', pct + 1)) {
    size_t end = pct;
    if (end > 0 && IsSpace(line[end - 1])) --end;
    size_t begin = end;
    while (begin > 0 && end - begin < kMaxNumber && (IsDigit(line[begin - 1]) || line[begin - 1] == '.')) --begin;
    while (begin < end && line[begin] == '.') ++begin;  // ".5%" -> "5%"
    if (begin == end || (begin > 0 && IsDigit(line[begin - 1]))) continue;  // no number, or too long
    double value = 0;
    auto [ptr, ec] = std::from_chars(line.data() + begin, line.data() + end, value);
    if (ec != std::errc() || ptr != line.data() + end) continue;
    if (value >= 0 && value <= 100) return value / 100.0;
  }
  return std::nullopt;
}

}  // namespace

std::optional<LoadProgress> ParseLoadLine(std::string_view line) {
  std::optional<LoadProgress> out;
  for (const auto& rule : kStages) {
    if (Contains(line, rule.marker)) {
      out = LoadProgress{std::string(rule.stage), rule.estimate, rule.worth_probing};
      break;
    }
  }
  if (auto fraction = FindPercent(line)) {
    if (!out) out = LoadProgress{"loading", 0, false};
    out->progress = *fraction;
  }
  return out;
}

bool IsAddressInUseLine(std::string_view line) {
  return Contains(line, "couldn't bind") || Contains(line, "address already in use") || Contains(line, "EADDRINUSE") ||
         Contains(line, "errno 98");
}

}  // namespace llmdesk::manager
