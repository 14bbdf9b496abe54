// bench/chat_bench_engine_log.h — what llama-server says about its own time, read from its log.
//
// With LLAMA_ARG_LOG_PREFIX=1 and LLAMA_ARG_LOG_TIMESTAMPS=1 every line starts with the time since the
// engine's log began, "M.SS.mmm.uuu" (minutes, seconds, ms, us), then a level letter. We take:
//   load_ms        the timestamp of the first "model loaded" line;
//   prompt_ms      the sum of "prompt eval time = X ms" of the slot's print_timing lines (once per request;
//                  the responses' timings.prompt_ms);
//   predicted_ms   the sum of "eval time = X ms" of the same lines (timings.predicted_ms).
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace llmdesk::bench {

struct EngineTimes {
  double load_ms = 0, prompt_ms = 0, predicted_ms = 0;
  int requests = 0;
  std::vector<double> per_request_ms;  // prompt eval + eval of each request, in order
  double timings_ms = 0;  // baseline only: prompt_ms + predicted_ms from the responses' `timings`
  double generation_ms() const { return prompt_ms + predicted_ms; }
};

// "0.00.612.345 I main: ..." -> 612.345 (ms); nullopt for a line without the stamp.
inline std::optional<double> StampMs(std::string_view line) {
  long part[4] = {0, 0, 0, 0};
  size_t at = 0;
  for (int k = 0; k < 4; ++k) {
    size_t start = at;
    while (at < line.size() && line[at] >= '0' && line[at] <= '9' && at - start < 9) ++at;
    if (at == start) return std::nullopt;
    part[k] = std::strtol(std::string(line.substr(start, at - start)).c_str(), nullptr, 10);
    const char want = k < 3 ? '.' : ' ';
    if (at >= line.size() || line[at] != want) return std::nullopt;
    ++at;
  }
  return part[0] * 60000.0 + part[1] * 1000.0 + static_cast<double>(part[2]) + part[3] / 1000.0;
}

// The number after "<marker> =" in `line`, if the line has the marker.
inline std::optional<double> AfterMarker(std::string_view line, std::string_view marker) {
  size_t at = line.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  at = line.find('=', at + marker.size());
  if (at == std::string_view::npos) return std::nullopt;
  return std::strtod(std::string(line.substr(at + 1, 32)).c_str(), nullptr);
}

inline std::optional<EngineTimes> ParseEngineLog(const std::filesystem::path& path, uintmax_t offset) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(offset));
  EngineTimes t;
  bool loaded = false;
  for (std::string line; std::getline(in, line);) {
    if (!loaded && line.find("model loaded") != std::string::npos) {
      auto ms = StampMs(line);
      if (!ms) Die("the engine log has no timestamps (LLAMA_ARG_LOG_TIMESTAMPS): " + line);
      t.load_ms = *ms;
      loaded = true;
    } else if (line.find("print_timing") == std::string::npos) {
      continue;  // only the slot's own report per request (not e.g. llama_perf lines at exit)
    } else if (auto p = AfterMarker(line, "prompt eval time")) {
      t.prompt_ms += *p;
      t.per_request_ms.push_back(*p);
    } else if (auto e = AfterMarker(line, " eval time")) {
      t.predicted_ms += *e;
      if (!t.per_request_ms.empty()) t.per_request_ms.back() += *e;
      ++t.requests;
    }
  }
  if (!loaded) return std::nullopt;
  return t;
}

// Waits (bounded) until the log from `offset` holds the load and `requests` timing blocks: the stack's
// manager copies engine output to the file asynchronously, so the last lines may land after the answer.
inline EngineTimes ReadEngineLog(const std::filesystem::path& path, uintmax_t offset, int requests) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) < offset) offset = 0;  // rotated meanwhile
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);;
       std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
    auto t = ParseEngineLog(path, offset);
    if (t && t->requests >= requests) return *t;
    if (std::chrono::steady_clock::now() > deadline)
      Die("the engine log " + path.string() + " lacks the load time or " + std::to_string(requests) +
          " print_timing blocks");
  }
}

}  // namespace llmdesk::bench
