// apps/gui/stack_link.h — how the desktop app reaches the stack: it loads the config (off the UI thread), asks
// GET /health on the config's control API, and attaches to the `llmdesk up`/`serve` that answers; when none
// does, it starts `llmdesk serve --on-demand` itself (a QProcess: backends then start when a chat or the Servers
// tab needs them) and, at Shutdown, stops what it started (SIGTERM; SIGKILL after a grace period).
// Everything is asynchronous on the UI thread: callbacks report progress, readiness and failures.
//
// The gateway token (gateway.token of the config, as the CLI reads it) is sent once the process on the control
// API's port is verified to be llmdesk (control::VerifyLlmdeskListener, as control::ControlClient does); a stack
// that refuses it (401/403 on GET /api/stack) ends in on_failed with a message that says so and what to do.
// Reload() re-reads the config after the Settings tab saved it and asks the stack to apply it.
#pragma once

#include <QObject>
#include <QString>
#include <functional>
#include <memory>
#include <optional>

#include "config/config.h"
#include "control_api.h"

class QProcess;
class QTimer;

namespace llmdesk::gui {

struct LinkOptions {
  QString config_path;      // --config; empty = the usual lookup (LLMDESK_CONFIG, ./, XDG)
  QString llmdesk_program;  // the `llmdesk` CLI; empty = next to this program, else PATH
};

class StackLink : public QObject {
 public:
  StackLink(ControlApi& api, LinkOptions options, QObject* parent = nullptr);
  ~StackLink() override;

  // Loads the config, then attaches or starts serve. Calls on_ready once the control API answers.
  void Connect();
  // Stops the serve this link started and calls `done` when it has exited (at once when it started none).
  void Shutdown(std::function<void()> done);

  bool started_serve() const { return started_; }
  qint64 serve_pid() const;       // the daemon's PID (ours or attached), 0 before ready
  bool ready() const { return ready_; }
  const config::Config& config() const { return config_; }
  const Json& stack_status() const { return stack_status_; }  // GET /api/stack: listeners with their bound ports
  // Asks the stack to re-read its config file (POST /api/config/reload), then re-reads it here too (off the UI
  // thread); `done` gets the report's lines, or the refusal.
  void Reload(std::function<void(Result<std::vector<std::string>>)> done);
  const std::vector<config::Diagnostic>& diagnostics() const { return diagnostics_; }
  QString config_file() const;    // the file the config came from ("" = built-in defaults)

  std::function<void(const QString&)> on_status;  // "starting llmdesk serve…", "attached to …"
  std::function<void()> on_ready;
  std::function<void(const QString&)> on_failed;

 private:
  void Probe(bool after_start);
  void Authenticate();
  void CheckAccess();
  void StartServe();
  void ServeOutput();
  void ServeExited(int code);

  ControlApi& api_;
  LinkOptions options_;
  config::Config config_;
  std::vector<config::Diagnostic> diagnostics_;
  std::optional<std::string> config_path_;
  Json stack_status_;
  QProcess* serve_ = nullptr;
  QString serve_tail_;  // the serve's last output lines, for a failure message
  bool started_ = false, ready_ = false, shutting_down_ = false;
  qint64 daemon_pid_ = 0;
  std::function<void()> shutdown_done_;
  QTimer* kill_timer_ = nullptr;
};

}  // namespace llmdesk::gui
