#include "net/sse.h"

namespace llmdesk::net {
namespace {

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += '\n';
}

}  // namespace

std::string SseFrame(std::string_view event, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 32);
  if (!event.empty()) AppendField(out, "event", event);
  if (!id.empty()) AppendField(out, "id", id);
  size_t start = 0;
  for (;;) {
    size_t end = data.find_first_of("\r\n", start);
    out.append("data: ").append(data.substr(start, end == std::string_view::npos ? end : end - start)).append("\n");
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

std::string SseComment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out + "\n\n";
}

SseParser::SseParser(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return Status::InvalidArgument("the event stream was already rejected");
  if (!bom_checked_) {
    // The BOM may itself arrive split; decide once three bytes (or a mismatch) are seen.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    std::string_view have = std::string_view(line_).substr(0, 3);
    size_t need = kBom.size() - have.size();
    std::string probe = std::string(have) + std::string(bytes.substr(0, need));
    if (kBom.substr(0, probe.size()) == probe) {
      if (probe.size() < kBom.size()) {
        line_ = probe;  // keep waiting for the rest of a possible BOM
        return Status::Ok();
      }
      bytes.remove_prefix(need);
      line_.clear();
    }
    bom_checked_ = true;
  }
  size_t i = 0;
  while (i < bytes.size()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes[i] == '\n') {
        ++i;
        continue;
      }
    }
    size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      break;
    }
    std::string_view line;
    if (line_.empty()) {
      line = bytes.substr(i, end - i);
    } else {
      line_.append(bytes.substr(i, end - i));
      line = line_;
    }
    event_bytes_ += line.size() + 1;
    if (event_bytes_ > max_event_bytes_) break;
    Line(line, out);
    line_.clear();
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        skip_lf_ = true;
      }
    }
    i = end + 1;
  }
  if (event_bytes_ + line_.size() > max_event_bytes_) {
    failed_ = true;
    return Status::InvalidArgument("an event in the stream is larger than " + std::to_string(max_event_bytes_) +
                                   " bytes; the stream was rejected");
  }
  return Status::Ok();
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {  // dispatch
    if (has_data_) {
      SseEvent e;
      if (!event_.empty()) e.event = std::move(event_);
      e.data = std::move(data_);
      e.id = last_id_;
      e.retry = retry_;
      out.push_back(std::move(e));
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    retry_.reset();
    event_bytes_ = 0;
    return;
  }
  if (line.front() == ':') return;  // comment
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "event") {
    event_.assign(value);
  } else if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (!value.empty() && value.size() < 18 && value.find_first_not_of("0123456789") == std::string_view::npos)
      retry_ = std::stoll(std::string(value));
  }
}

}  // namespace llmdesk::net
