// net/sse.h — Server-Sent Events (text/event-stream): the one writer and the one incremental parser.
//
// Writer: SseFrame() formats one event; multi-line data becomes several `data:` lines, so a reader
// rejoins it exactly. Parser: WHATWG rules — LF, CR or CRLF line ends (a CR at the end of one chunk and
// an LF at the start of the next are one line end), an optional leading BOM, `:` comments ignored, a
// field without a colon has an empty value, one optional space after the colon is dropped, `data` lines
// joined with "\n", an event dispatched at a blank line (none when it has no data), `id` kept across
// events (ids containing NUL ignored), `retry` only when all digits. Input that never ends an event
// (or one line) beyond `max_event_bytes` is an error instead of unbounded growth.
// Not thread-safe: one parser per stream.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace llmdesk::net {

// "event: <event>\nid: <id>\ndata: <line 1>\ndata: <line 2>\n\n"; `event` and `id` are left out when
// empty. Data lines are split at LF, CR and CRLF. `event`/`id` must not contain line breaks (they are
// replaced by spaces).
std::string SseFrame(std::string_view event, std::string_view data, std::string_view id = {});
// ": <text>\n\n" — a comment, e.g. a keep-alive that lets either side notice a dead peer.
std::string SseComment(std::string_view text);

struct SseEvent {
  std::string event = "message";  // the type; "message" when the stream named none
  std::string data;
  std::string id;                 // the last event id seen so far on the stream
  std::optional<long long> retry; // a reconnection time (ms) given in this event's block
};

class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 16 * 1024 * 1024);

  // Consumes `bytes` and appends every event completed by them to `out`. InvalidArgument when an event
  // (or an unterminated line) grows past max_event_bytes; the parser is then unusable.
  Status Feed(std::string_view bytes, std::vector<SseEvent>& out);

  const std::string& last_event_id() const { return last_id_; }

 private:
  void Line(std::string_view line, std::vector<SseEvent>& out);

  const size_t max_event_bytes_;
  std::string line_;            // the incomplete line
  bool bom_checked_ = false;
  bool skip_lf_ = false;        // the previous chunk ended in CR: a leading LF belongs to it
  bool failed_ = false;
  std::string event_, data_, last_id_;
  bool has_data_ = false;
  std::optional<long long> retry_;
  size_t event_bytes_ = 0;
};

}  // namespace llmdesk::net
