// `llmdesk pull REF`, `llmdesk models [--json]`, `llmdesk models rm NAME`: front ends over models/ (pull.h,
// library.h). This file only renders: a progress bar on a terminal, one line per stage and per 10% otherwise.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "models/library.h"
#include "models/prepare.h"
#include "models/pull.h"
#include "platform/user_dirs.h"
#include "signals.h"

namespace llmdesk::cli {
namespace {

using Json = nlohmann::json;

std::string Bytes(double n) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (n >= 1000 && u < 4) n /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
  return buf;
}

std::string Duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string Count(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  else if (n >= 1000000ull) std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  else if (n >= 1000ull) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  return buf;
}

// Renders PullProgress events on stderr: a bar redrawn in place on a terminal, lines otherwise.
class PullRenderer {
 public:
  explicit PullRenderer(bool tty) : tty_(tty) {}
  void On(const models::PullProgress& p) {
    using Stage = models::PullProgress::Stage;
    if (p.stage == Stage::kResolving) return Line("resolving " + p.file);
    if (p.stage == Stage::kVerifying) return Line("verifying " + p.file + " (SHA-256)");
    if (p.stage == Stage::kDone) return;
    std::string text = Bytes(static_cast<double>(p.done)) + (p.total ? " / " + Bytes(static_cast<double>(p.total)) : "") +
                       "  " + Bytes(p.bytes_per_second) + "/s" + (p.eta_seconds ? "  ETA " + Duration(*p.eta_seconds) : "");
    int percent = p.total ? static_cast<int>(100.0 * static_cast<double>(p.done) / static_cast<double>(p.total)) : -1;
    if (!started_) {
      started_ = true;
      Line("downloading " + p.file + (p.resumed_from ? " (resuming at " + Bytes(static_cast<double>(p.resumed_from)) + ")" : ""));
    }
    if (tty_) {
      constexpr int kWidth = 30;
      int filled = percent < 0 ? 0 : percent * kWidth / 100;
      std::cerr << "\r\x1b[K[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] "
                << (percent < 0 ? "" : std::to_string(percent) + "% ") << text << std::flush;
      bar_shown_ = true;
    } else if (percent >= last_percent_ + 10 || (percent < 0 && p.done >= last_done_ + (64u << 20))) {
      last_percent_ = percent - percent % 10, last_done_ = p.done;
      std::cerr << "  " << (percent < 0 ? "" : std::to_string(percent) + "%  ") << text << "\n" << std::flush;
    }
  }
  void Line(const std::string& text) {
    if (bar_shown_) std::cerr << "\n", bar_shown_ = false;
    if (!text.empty()) std::cerr << text << "\n" << std::flush;
  }

 private:
  bool tty_;
  bool started_ = false, bar_shown_ = false;
  int last_percent_ = -10;
  uint64_t last_done_ = 0;
};

void PrintModels(const std::vector<models::LocalModel>& list) {
  if (list.empty()) {
    std::cout << "no models yet: `llmdesk pull owner/repo:QUANT` downloads one (e.g. llmdesk pull "
                 "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M)\n";
    return;
  }
  std::printf("%-58s %-11s %9s %-8s %7s %-8s %7s %-5s\n", "NAME", "SOURCE", "SIZE", "ARCH", "PARAMS", "QUANT", "CONTEXT", "TOOLS");
  for (const auto& m : list) {
    std::string name = m.name.size() > 58 ? "…" + m.name.substr(m.name.size() - 56) : m.name;
    if (!m.info) {
      std::printf("%-58s %-11s %9s unreadable: %s\n", name.c_str(), m.source.c_str(), Bytes(static_cast<double>(m.size)).c_str(),
                  m.error.c_str());
      continue;
    }
    const auto& i = *m.info;
    std::printf("%-58s %-11s %9s %-8s %7s %-8s %7s %-5s%s\n", name.c_str(), m.source.c_str(),
                Bytes(static_cast<double>(m.size)).c_str(), i.architecture.c_str(), Count(i.parameter_count).c_str(),
                i.quantization.c_str(), i.context_length ? std::to_string(*i.context_length).c_str() : "?",
                i.template_supports_tools ? "yes" : "no", m.demo ? (std::string("  (") + models::kDemoLabel + ")").c_str() : "");
  }
}

}  // namespace

Result<models::PullResult> PullWithProgress(const config::Config& cfg, const models::ModelRef& ref,
                                            const CancelToken* cancel) {
  auto env = config::ProcessEnv();
  PullRenderer renderer(isatty(STDERR_FILENO));
  models::PullOptions options{.endpoint = models::HubEndpoint(cfg, env), .token = models::HubToken(env),
                              .library = models::LibraryDir(env), .cancel = cancel,
                              .on_progress = [&](const models::PullProgress& p) { renderer.On(p); }};
  if (options.library.empty()) return Status::FailedPrecondition("neither XDG_DATA_HOME nor HOME is set: no place for models");
  auto result = models::Pull(ref, options);
  if (result.ok())
    renderer.Line((result->already_present ? "already there: " : "saved ") + platform::PathToUtf8(result->path) +
                  (result->verified ? " (SHA-256 verified)" : result->already_present ? "" : " (no SHA-256 published: not verified)"));
  else
    renderer.Line("");  // ends a progress bar before the error message
  return result;
}

std::optional<config::Config> PrepareForStart(const config::Config& cfg, const std::vector<std::string>& names,
                                             StopSignals& signals) {
  auto env = config::ProcessEnv();
  CancelToken cancel;
  StopSignals::Watch watch(signals, [&cancel](int) { cancel.Cancel(); });
  PullRenderer renderer(isatty(STDERR_FILENO));
  models::PrepareOptions o;
  o.pull = {.endpoint = models::HubEndpoint(cfg, env), .token = models::HubToken(env), .library = models::LibraryDir(env),
            .cancel = &cancel, .on_progress = [&](const models::PullProgress& p) { renderer.On(p); }};
  o.on_pull = [&](const std::string& line) { renderer.Line(line); };
  auto prepared = models::PrepareModels(cfg, names, o, env);
  if (!prepared.ok()) {
    std::cerr << "llmdesk: " << prepared.status().message() << "; nothing was started.\n";
    return std::nullopt;
  }
  for (const auto& note : prepared->notes) std::cout << "llmdesk: " << note << "\n" << std::flush;
  return prepared->config;
}

void RegisterModelCommands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string ref, name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();

  auto* pull = app.add_subcommand("pull", "Download a GGUF model from Hugging Face (owner/repo[:QUANT]) or a URL into "
                                          "the model library ($XDG_DATA_HOME/llmdesk/models)");
  pull->add_option("model", args->ref, "owner/repo[:QUANT], e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M, or a URL")->required();
  pull->add_flag("--json", args->json, "Print the result as JSON");
  pull->callback([&ctx, args] {
    auto cfg = ctx.LoadConfig(true);
    if (!cfg) return void(ctx.exit_code = kExitBadConfig);
    auto ref = models::ParseModelRef(args->ref);
    if (!ref.ok()) {
      std::cerr << "llmdesk: " << ref.status().message() << "\n";
      return void(ctx.exit_code = kExitBadConfig);
    }
    // A file-size limit (ulimit -f) must end in a clear "disk full" error, not a SIGXFSZ death. (Windows has
    // neither the limit nor the signal.)
#ifdef SIGXFSZ
    ::signal(SIGXFSZ, SIG_IGN);
#endif
    StopSignals signals;
    CancelToken cancel;
    StopSignals::Watch watch(signals, [&cancel](int) { cancel.Cancel(); });
    auto result = PullWithProgress(*cfg, *ref, &cancel);
    if (!result.ok()) {
      std::cerr << "llmdesk: " << result.status().message() << "\n";
      return void(ctx.exit_code = kExitFailure);
    }
    if (args->json)
      std::cout << Json{{"path", platform::PathToUtf8(result->path)}, {"name", result->name}, {"sha256", result->sha256},
                        {"verified", result->verified}, {"already_present", result->already_present},
                        {"size", result->size}, {"bytes_transferred", result->bytes_transferred},
                        {"resumed_from", result->resumed_from}}
                       .dump(2, ' ', false, Json::error_handler_t::replace)
                << "\n";
  });

  auto* list = app.add_subcommand("models", "Models on this machine: the library, the Hugging Face cache, llama.cpp's "
                                            "cache and LM Studio's folder");
  list->add_flag("--json", args->json, "Machine-readable output");
  auto* rm = list->add_subcommand("rm", "Remove a model from the library (its name as listed, its file name, or owner/repo:QUANT)");
  rm->add_option("name", args->name, "The model to remove")->required();
  rm->callback([&ctx, args] {
    auto removed = models::RemoveModel(args->name, config::ProcessEnv());
    if (!removed.ok()) {
      std::cerr << "llmdesk: " << removed.status().message() << "\n";
      return void(ctx.exit_code = kExitFailure);
    }
    std::cout << "removed " << removed->string() << "\n";
  });
  list->callback([args, rm] {
    if (rm->parsed()) return;
    auto found = models::ListLocalModels(config::ProcessEnv());
    if (!args->json) return PrintModels(found);
    Json out = Json::array();
    for (const auto& m : found) out.push_back(models::ToJson(m));
    std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  });
}

}  // namespace llmdesk::cli
