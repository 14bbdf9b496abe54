// apps/gui/control_api.cpp — see control_api.h.
#include "control_api.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QUrl>

#include "control/control.h"

namespace llmdesk::gui {

namespace {
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
}  // namespace

Status ReplyStatus(QNetworkReply* reply, const QByteArray& body) {
  const int http = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  if (http == 0) return Status::Unavailable(reply->errorString().toStdString());
  if (http < 400) return Status::Ok();
  return control::StatusFromHttp(http, body.toStdString(), reply->url().path().toStdString());
}

SseStream::SseStream(QNetworkReply* reply, SseCallback on_event, EndCallback on_end, QObject* parent)
    : QObject(parent), reply_(reply), on_event_(std::move(on_event)), on_end_(std::move(on_end)) {
  connect(reply, &QNetworkReply::readyRead, this, &SseStream::Read);
  connect(reply, &QNetworkReply::finished, this, &SseStream::Finish);
}

SseStream::~SseStream() { Abort(); }

void SseStream::Abort() {
  ended_ = true;
  if (reply_) {
    reply_->disconnect(this);
    reply_->abort();
    reply_->deleteLater();
    reply_ = nullptr;
  }
}

void SseStream::Read() {
  if (!reply_ || ended_) return;
  const int http = reply_->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  if (http >= 400) return;  // the error body is read in Finish
  const QByteArray bytes = reply_->readAll();
  std::vector<net::SseEvent> events;
  Status s = parser_.Feed(std::string_view(bytes.constData(), static_cast<size_t>(bytes.size())), events);
  QPointer<SseStream> alive(this);
  for (const auto& e : events) {
    Json data = Json::parse(e.data, nullptr, false);
    if (data.is_discarded()) data = Json{{"text", e.data}};
    if (on_event_) on_event_(e.event, data);
    if (!alive || ended_) return;  // the callback closed the stream
  }
  if (!s.ok()) {
    ended_ = true;
    if (on_end_) on_end_(s);
    Abort();
  }
}

void SseStream::Finish() {
  if (!reply_ || ended_) return;
  Read();
  if (!reply_ || ended_) return;
  ended_ = true;
  Status s = ReplyStatus(reply_, reply_->readAll());
  if (s.ok() && reply_->error() != QNetworkReply::NoError && reply_->error() != QNetworkReply::RemoteHostClosedError)
    s = Status::Unavailable(reply_->errorString().toStdString());
  reply_->deleteLater();
  reply_ = nullptr;
  if (on_end_) on_end_(s);
}

ControlApi::ControlApi(QObject* parent) : QObject(parent), net_(new QNetworkAccessManager(this)) {}
ControlApi::~ControlApi() = default;

void ControlApi::SetEndpoint(const QString& host, int port, const std::string& token, bool send_token) {
  QString h = host == "0.0.0.0" || host.isEmpty() ? "127.0.0.1" : host == "::" ? "::1" : host;
  base_ = QString("http://%1:%2").arg(h.contains(':') ? "[" + h + "]" : h).arg(port);
  token_ = token;
  send_token_ = send_token;
}

QNetworkReply* ControlApi::Send(const QString& method, const QString& path, const Json* body, bool stream) {
  QNetworkRequest request(QUrl(base_ + path));
  request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
  request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
  if (stream) request.setRawHeader("Accept", "text/event-stream");
  if (send_token_ && !token_.empty()) request.setRawHeader("Authorization", QByteArray::fromStdString("Bearer " + token_));
  if (!body) return method == "DELETE" ? net_->deleteResource(request) : net_->get(request);
  request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
  return net_->sendCustomRequest(request, method.toLatin1(), QByteArray::fromStdString(Dump(*body)));
}

void ControlApi::Finish(QNetworkReply* reply, const JsonCallback& done) {
  reply->deleteLater();
  const QByteArray body = reply->readAll();
  Status s = ReplyStatus(reply, body);
  if (!done) return;
  if (!s.ok()) return done(s);
  Json j = Json::parse(body.toStdString(), nullptr, false);
  if (j.is_discarded()) return done(Status::FailedPrecondition("the control API answered with something that is not JSON"));
  done(std::move(j));
}

void ControlApi::Get(const QString& path, JsonCallback done) {
  QNetworkReply* reply = Send("GET", path, nullptr, false);
  connect(reply, &QNetworkReply::finished, this, [this, reply, done = std::move(done)] { Finish(reply, done); });
}

void ControlApi::Post(const QString& path, const Json& body, JsonCallback done) {
  QNetworkReply* reply = Send("POST", path, &body, false);
  connect(reply, &QNetworkReply::finished, this, [this, reply, done = std::move(done)] { Finish(reply, done); });
}

SseStream* ControlApi::Stream(const QString& path, const Json* body, SseCallback on_event, EndCallback on_end,
                              QObject* owner) {
  QNetworkReply* reply = Send(body ? "POST" : "GET", path, body, true);
  return new SseStream(reply, std::move(on_event), std::move(on_end), owner);
}

}  // namespace llmdesk::gui
