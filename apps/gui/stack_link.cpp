// apps/gui/stack_link.cpp — see stack_link.h.
#include "stack_link.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QTimer>

#include "background.h"
#include "control/control.h"

namespace llmdesk::gui {

namespace {

constexpr int kStopGraceMs = 20000;  // serve stops its engines (SIGTERM, grace, SIGKILL) within this

struct Loaded {
  std::optional<std::string> path;
  config::LoadResult result;
};

QString LlmdeskProgram(const QString& given) {
  if (!given.isEmpty()) return given;
  QString beside = QDir(QCoreApplication::applicationDirPath()).filePath("llmdesk");
  if (QFileInfo(beside).isExecutable()) return beside;
  QString found = QStandardPaths::findExecutable("llmdesk");
  return found.isEmpty() ? QString("llmdesk") : found;
}

}  // namespace

StackLink::StackLink(ControlApi& api, LinkOptions options, QObject* parent)
    : QObject(parent), api_(api), options_(std::move(options)) {}

StackLink::~StackLink() {
  // Destroyed without Shutdown (the event loop ended some other way): the serve still gets SIGTERM and its grace
  // period to stop its engines, rather than QProcess's SIGKILL. Blocking is fine here: no event loop runs any more.
  if (serve_ && serve_->state() != QProcess::NotRunning) {
    serve_->disconnect(this);
    serve_->terminate();
    if (!serve_->waitForFinished(kStopGraceMs)) serve_->kill();
  }
}

QString StackLink::config_file() const { return config_path_ ? QString::fromStdString(*config_path_) : QString(); }
qint64 StackLink::serve_pid() const { return daemon_pid_; }

void StackLink::Connect() {
  if (on_status) on_status("loading the configuration…");
  const std::optional<std::string> explicit_path =
      options_.config_path.isEmpty() ? std::nullopt : std::optional<std::string>(options_.config_path.toStdString());
  RunInBackground<Loaded>(
      this,
      [explicit_path] {
        Loaded l;
        auto env = config::ProcessEnv();
        auto path = config::FindConfigFile(explicit_path, env);
        if (path) {
          l.path = path->string();
          l.result = config::LoadFile(*path, env);
        } else {
          l.result.config = config::Defaults(env);
        }
        return l;
      },
      [this](Loaded l) {
        config_path_ = l.path;
        config_ = l.result.config;
        diagnostics_ = l.result.diagnostics;
        if (!l.result.ok()) {
          std::string text;
          for (const auto& d : l.result.errors()) text += d.ToString() + "\n";
          if (on_failed) on_failed(QString::fromStdString("the configuration has errors:\n" + text));
          return;
        }
        api_.SetEndpoint(QString::fromStdString(config_.gateway.host), config_.gateway.port,
                         config_.gateway.token.value_or(""), /*send_token=*/false);
        Probe(false);
      });
}

// GET /health: attach when llmdesk answers; otherwise start serve (first time) or try again shortly.
void StackLink::Probe(bool after_start) {
  api_.Get("/health", [this, after_start](Result<Json> health) {
    if (shutting_down_) return;
    if (health.ok()) {
      if (!health->is_object() || health->value("service", "") != "llmdesk") {
        if (on_failed)
          on_failed(QString("port %1 answers, but not as llmdesk: another program holds the control API's port")
                        .arg(config_.gateway.port));
        return;
      }
      const auto pid = health->find("pid");
      daemon_pid_ = pid != health->end() && pid->is_number_integer() ? pid->get<qint64>() : 0;
      return Authenticate();
    }
    if (!after_start) return StartServe();
  });
}

// As the CLI (control::ControlClient): the gateway token of the config goes only to a process that is llmdesk
// (checked off the UI thread: it reads /proc). Then one authenticated request tells whether the stack accepts it.
void StackLink::Authenticate() {
  const std::string token = config_.gateway.token.value_or("");
  const QString host = QString::fromStdString(config_.gateway.host);
  const int port = config_.gateway.port;
  if (token.empty()) return CheckAccess();
  RunInBackground<Status>(
      this, [port] { return control::VerifyLlmdeskListener(port); },
      [this, host, port, token](Status peer) {
        if (shutting_down_) return;
        if (!peer.ok()) {
          if (on_failed) on_failed("Not sending the gateway token: " + QString::fromStdString(peer.message()));
          return;
        }
        api_.SetEndpoint(host, port, token, /*send_token=*/true);
        CheckAccess();
      });
}

void StackLink::CheckAccess() {
  api_.Get("/api/stack", [this](Result<Json> stack) {
    if (shutting_down_) return;
    const bool has_token = config_.gateway.token.has_value() && !config_.gateway.token->empty();
    const QString file = config_file().isEmpty() ? QString("the built-in defaults") : config_file();
    if (stack.status().code() == Status::Code::kPermissionDenied) {
      if (on_failed)
        on_failed(has_token ? QString("The llmdesk at %1 (pid %2) refused the gateway token from %3: %4. Set "
                                      "gateway.token there to the running stack's token.")
                                  .arg(api_.base_url()).arg(daemon_pid_).arg(file, QString::fromStdString(stack.status().message()))
                            : QString("The llmdesk at %1 (pid %2) asks for a gateway token, and %3 sets none: %4. Set "
                                      "gateway.token to the running stack's token.")
                                  .arg(api_.base_url()).arg(daemon_pid_).arg(file, QString::fromStdString(stack.status().message())));
      return;
    }
    if (!stack.ok()) {
      if (on_failed) on_failed("The llmdesk at " + api_.base_url() + " does not answer: " + QString::fromStdString(stack.status().message()));
      return;
    }
    stack_status_ = *stack;
    ready_ = true;
    if (on_status)
      on_status(started_ ? QString("started llmdesk serve (pid %1) at %2").arg(daemon_pid_).arg(api_.base_url())
                         : QString("attached to llmdesk (pid %1) at %2").arg(daemon_pid_).arg(api_.base_url()));
    if (on_ready) on_ready();
  });
}

void StackLink::Reload(std::function<void(Result<std::vector<std::string>>)> done) {
  api_.Post("/api/config/reload", Json::object(), [this, done = std::move(done)](Result<Json> report) {
    if (!report.ok()) return done(report.status());
    Json shown = *report;
    shown.erase("warnings");  // the Settings tab lists the config's warnings at their lines already
    std::vector<std::string> lines = control::ReloadReportLines(shown);
    if (!config_path_) return done(std::move(lines));
    const std::string path = *config_path_;
    RunInBackground<config::LoadResult>(
        this, [path] { return config::LoadFile(path, config::ProcessEnv()); },
        [this, lines = std::move(lines), done](config::LoadResult loaded) {
          if (loaded.ok()) {
            // The listeners keep running where they are until the stack restarts (the report says so).
            loaded.config.gateway = config_.gateway;
            loaded.config.tool_server = config_.tool_server;
            config_ = std::move(loaded.config);
            diagnostics_ = std::move(loaded.diagnostics);
          }
          done(lines);
        });
  });
}

void StackLink::StartServe() {
  started_ = true;
  serve_ = new QProcess(this);
  serve_->setProcessChannelMode(QProcess::MergedChannels);
  QStringList args;
  if (config_path_) args << "--config" << QString::fromStdString(*config_path_);
  args << "serve" << "--on-demand";
  connect(serve_, &QProcess::readyReadStandardOutput, this, &StackLink::ServeOutput);
  connect(serve_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus) { ServeExited(code); });
  connect(serve_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart && on_failed)
      on_failed("cannot run " + serve_->program() + ": " + serve_->errorString());
  });
  if (on_status) on_status("starting llmdesk serve…");
  serve_->start(LlmdeskProgram(options_.llmdesk_program), args);
}

void StackLink::ServeOutput() {
  const QString text = QString::fromUtf8(serve_->readAllStandardOutput());
  serve_tail_ = (serve_tail_ + text).right(4000);
  // "llmdesk serve: control API at http://127.0.0.1:8760 (pid N); ..." — it listens now.
  if (!ready_ && text.contains("control API at")) Probe(true);
}

void StackLink::ServeExited(int code) {
  if (shutting_down_) {
    if (kill_timer_) kill_timer_->stop();
    if (auto done = std::move(shutdown_done_)) done();
    return;
  }
  ready_ = false;
  if (on_failed)
    on_failed(QString("llmdesk serve exited (code %1):\n%2").arg(code).arg(serve_tail_.trimmed()));
}

void StackLink::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  if (!serve_ || serve_->state() == QProcess::NotRunning) {
    if (done) done();
    return;
  }
  shutdown_done_ = std::move(done);
  serve_->terminate();  // SIGTERM: serve stops its engines, then exits
  kill_timer_ = new QTimer(this);
  kill_timer_->setSingleShot(true);
  connect(kill_timer_, &QTimer::timeout, this, [this] {
    if (serve_->state() != QProcess::NotRunning) serve_->kill();
  });
  kill_timer_->start(kStopGraceMs);
}

}  // namespace llmdesk::gui
