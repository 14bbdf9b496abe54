// apps/gui/control_api.h — the desktop app's asynchronous client of the control API (see src/control/control.h
// for the routes): JSON requests and SSE streams over one QNetworkAccessManager, on the UI thread, never
// blocking it. Replies arrive as callbacks from the event loop. SSE bytes go through the core's incremental
// parser (net::SseParser) as they arrive (readyRead).
//
// Errors: a callback gets a Status — Unavailable when nothing answers, the server's message with a matching code
// otherwise (control::StatusFromHttp, as the CLI's ControlClient).
// The bearer token (gateway.token) is sent only when set through SetEndpoint with send_token = true: the link
// does that only for a daemon it started itself (see stack_link.h).
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "net/sse.h"

class QNetworkAccessManager;
class QNetworkReply;

namespace llmdesk::gui {

using Json = nlohmann::json;
using JsonCallback = std::function<void(Result<Json>)>;
using SseCallback = std::function<void(const std::string& event, const Json& data)>;
using EndCallback = std::function<void(Status)>;

// One open SSE stream. Deleting it (or Abort) closes the connection; the end callback is then not called.
class SseStream : public QObject {
 public:
  SseStream(QNetworkReply* reply, SseCallback on_event, EndCallback on_end, QObject* parent);
  ~SseStream() override;
  void Abort();

 private:
  void Read();
  void Finish();
  QPointer<QNetworkReply> reply_;
  net::SseParser parser_;
  SseCallback on_event_;
  EndCallback on_end_;
  bool ended_ = false;
};

class ControlApi : public QObject {
 public:
  explicit ControlApi(QObject* parent = nullptr);
  ~ControlApi() override;

  void SetEndpoint(const QString& host, int port, const std::string& token, bool send_token);
  QString base_url() const { return base_; }

  void Get(const QString& path, JsonCallback done);
  void Post(const QString& path, const Json& body, JsonCallback done);
  // GET (body null) or POST (body given) a stream; the stream is owned by `owner` (deleted with it).
  SseStream* Stream(const QString& path, const Json* body, SseCallback on_event, EndCallback on_end, QObject* owner);

 private:
  QNetworkReply* Send(const QString& method, const QString& path, const Json* body, bool stream);
  void Finish(QNetworkReply* reply, const JsonCallback& done);

  QNetworkAccessManager* net_;
  QString base_;
  std::string token_;
  bool send_token_ = false;
};

// The Status for a finished reply that failed (transport error or HTTP >= 400), with the server's message.
Status ReplyStatus(QNetworkReply* reply, const QByteArray& body);

}  // namespace llmdesk::gui
