// ChatClient: chat completions over net::HttpClient, streamed through net::SseParser (contract in client.h).
#include "llm/client.h"

#include <strings.h>

#include <algorithm>
#include <cctype>

#include "common/text.h"
#include "net/sse.h"

namespace llmdesk::llm {
namespace {

using Json = nlohmann::json;

bool StartsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

// An HTML page (a proxy's error page, a web UI, a login form) where the API should have answered.
bool LooksLikeHtml(const std::string& content_type, std::string_view body) {
  if (StartsWithNoCase(content_type, "text/html") || StartsWithNoCase(content_type, "application/xhtml")) return true;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return false;
  body.remove_prefix(first);
  return StartsWithNoCase(body, "<!doctype html") || StartsWithNoCase(body, "<html");
}

// The page's <title>, else its first characters: enough for the user to recognise what answered.
std::string HtmlGist(std::string_view page) {
  page = page.substr(0, 64 * 1024);
  std::string lower(page);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t open = lower.find("<title>"), close = lower.find("</title>");
  if (open != std::string::npos && close != std::string::npos && close > open + 7)
    return std::string(page.substr(open + 7, std::min<size_t>(close - open - 7, 200)));
  return std::string(page.substr(0, 200));
}

Status HtmlError(const std::string& url, int status, const std::string& content_type, const std::string& body) {
  const std::string type = content_type.empty() ? "" : ", " + ValidUtf8(content_type.substr(0, 80));
  return Status::Unavailable("the server at " + url + " answered HTML instead of the OpenAI API (HTTP " +
                             std::to_string(status) + type + ": " + ValidUtf8(HtmlGist(body)) +
                             "); check the model's url: it must name an OpenAI-compatible server, ending in /v1");
}

// The Status for an answer that is not a successful one, with the server's own words when it gave any.
Status HttpError(const std::string& url, int status, const std::string& content_type, const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string what;
  if (auto message = ErrorMessage(j)) what = *message;
  else if (LooksLikeHtml(content_type, body)) return HtmlError(url, status, content_type, body);
  else if (!StartsWith(content_type, "application/json"))
    what = "it answered " + (content_type.empty() ? std::string("without a content type") : content_type) +
           ", not JSON: " + body.substr(0, 200);
  else what = body.substr(0, 300);
  std::string message = url + " answered HTTP " + std::to_string(status) + ": " + what;
  return status >= 500 || status == 429 ? Status::Unavailable(message) : Status::InvalidArgument(message);
}

}  // namespace

ChatClient::ChatClient(net::HttpClient& http, Endpoint endpoint) : http_(http), endpoint_(std::move(endpoint)) {
  while (!endpoint_.base_url.empty() && endpoint_.base_url.back() == '/') endpoint_.base_url.pop_back();
}

net::HttpRequest ChatClient::MakeRequest(const ChatRequest& request, const CancelToken* cancel) const {
  net::HttpRequest r;
  r.method = "POST";
  r.url = endpoint_.base_url + "/chat/completions";
  r.headers = {{"Content-Type", "application/json"},
               {"Accept", request.stream ? "text/event-stream" : "application/json"}};
  if (!endpoint_.api_key.empty()) r.headers.emplace_back("Authorization", "Bearer " + endpoint_.api_key);
  r.body = ToJson(request).dump(-1, ' ', false, Json::error_handler_t::replace);
  r.connect_timeout = endpoint_.connect_timeout;
  r.idle_timeout = endpoint_.idle_timeout;
  r.cancel = cancel;
  return r;
}

Result<Completion> ChatClient::Complete(const ChatRequest& request,
                                        const std::function<void(const StreamAccumulator::Delta&)>& on_delta,
                                        const CancelToken* cancel) {
  net::HttpRequest http_request = MakeRequest(request, cancel);
  const std::string& url = http_request.url;
  if (!request.stream) {
    auto res = http_.Send(http_request);
    if (!res.ok()) return res.status();
    if (res->status != 200) return HttpError(url, res->status, res->Header("Content-Type"), res->body);
    Json body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() && LooksLikeHtml(res->Header("Content-Type"), res->body))
      return HtmlError(url, res->status, res->Header("Content-Type"), res->body);
    if (body.is_discarded())
      return Status::Unavailable(url + " did not answer JSON (" + res->Header("Content-Type") +
                                 "): " + res->body.substr(0, 200));
    return ParseCompletion(body);
  }

  int status = 0;
  std::string content_type, error_body;
  net::SseParser parser;
  std::vector<net::SseEvent> events;
  StreamAccumulator acc;
  Status failed;
  bool done = false;
  Status sent = http_.Stream(
      http_request,
      [&](int code, const net::HeaderList& headers) {
        status = code;
        for (const auto& [k, v] : headers)
          if (k.size() == 12 && strncasecmp(k.c_str(), "content-type", 12) == 0) content_type = v;
        return true;
      },
      [&](std::string_view chunk) {
        if (status != 200 || !StartsWith(content_type, "text/event-stream")) {
          if (error_body.size() < 64 * 1024) error_body.append(chunk.substr(0, 64 * 1024 - error_body.size()));
          return true;
        }
        events.clear();
        if (Status s = parser.Feed(chunk, events); !s.ok()) return (failed = s), false;
        for (const auto& e : events) {
          if (e.data == "[DONE]") return (done = true), false;
          Json j = Json::parse(e.data, nullptr, /*allow_exceptions=*/false);
          if (j.is_discarded()) {
            failed = Status::Unavailable(url + " streamed something that is not JSON: " + e.data.substr(0, 200));
            return false;
          }
          StreamAccumulator::Delta delta;
          if (Status s = acc.Feed(j, &delta); !s.ok()) {
            failed = s.code() == Status::Code::kInvalidArgument
                         ? Status::Unavailable(url + " streamed a malformed answer: " + s.message())
                         : Status::Unavailable(url + ": " + s.message());
            return false;
          }
          if (on_delta && (!delta.content.empty() || !delta.tool_pieces.empty())) on_delta(delta);
        }
        return true;
      });
  if (!failed.ok()) return failed;
  if (!sent.ok()) return sent;
  if (status != 200) return HttpError(url, status, content_type, error_body);
  if (!StartsWith(content_type, "text/event-stream")) {
    // Some servers ignore `stream` and answer with one JSON body.
    Json body = Json::parse(error_body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return HttpError(url, status, content_type, error_body);
    return ParseCompletion(body);
  }
  if (!done && !acc.saw_finish())
    return Status::Unavailable(url + " closed the stream before the answer was finished (did the engine crash?)");
  return acc.Finish();
}

}  // namespace llmdesk::llm
