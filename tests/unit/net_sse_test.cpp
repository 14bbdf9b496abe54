// net::SseFrame and net::SseParser: the WHATWG parsing rules, fragmented input at every split point,
// and the bound on event size.
#include <gtest/gtest.h>

#include "net/sse.h"

namespace llmdesk::net {
namespace {

std::vector<SseEvent> ParseAll(std::string_view text, size_t max = 16 * 1024 * 1024) {
  SseParser parser(max);
  std::vector<SseEvent> out;
  Status s = parser.Feed(text, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(SseFrame, SplitsMultiLineDataAndRoundTrips) {
  EXPECT_EQ(SseFrame("log", "one", "7"), "event: log\nid: 7\ndata: one\n\n");
  EXPECT_EQ(SseFrame("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(SseFrame("x", ""), "event: x\ndata: \n\n");
  EXPECT_EQ(SseFrame("bad\nname", "d"), "event: bad name\ndata: d\n\n");
  EXPECT_EQ(SseComment("keep-alive"), ": keep-alive\n\n");
  auto events = ParseAll(SseFrame("state", "{\"a\":1}\n{\"b\":2}", "42") + SseComment("ping") + SseFrame("", "x"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "state");
  EXPECT_EQ(events[0].data, "{\"a\":1}\n{\"b\":2}");
  EXPECT_EQ(events[0].id, "42");
  EXPECT_EQ(events[1].event, "message");
  EXPECT_EQ(events[1].data, "x");
  EXPECT_EQ(events[1].id, "42");  // the last event id carries over
}

TEST(SseParser, LineEndsCommentsAndFieldRules) {
  auto events = ParseAll(
      "\xEF\xBB\xBF"          // a leading BOM is skipped
      ": comment\r\n"
      "event: a\rdata: 1\r\ndata:2\ndata\n\n"  // CR, CRLF, LF; no space after the colon; no colon = empty
      "data: only\n"
      "unknown: ignored\n"
      "retry: 1500\n\n"
      "event: no-data\n\n"   // no data: nothing dispatched
      "id: 9\ndata:  two spaces\nretry: 12x\n\n"
      "data: unterminated");  // no blank line yet: not dispatched
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "a");
  EXPECT_EQ(events[0].data, "1\n2\n");
  EXPECT_FALSE(events[0].retry);
  EXPECT_EQ(events[1].event, "message");
  EXPECT_EQ(events[1].data, "only");
  EXPECT_EQ(events[1].retry, 1500);
  EXPECT_EQ(events[2].data, " two spaces");  // only one space is dropped
  EXPECT_EQ(events[2].id, "9");
  EXPECT_FALSE(events[2].retry);  // not all digits
}

TEST(SseParser, EverySplitPointGivesTheSameEvents) {
  const std::string stream = std::string("\xEF\xBB\xBF") + "event: e1\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\n" +
                             ": c\rdata: x\rdata: y\r\revent: e3\ndata: z\r\n\r\n";
  const auto whole = ParseAll(stream);
  ASSERT_EQ(whole.size(), 3u);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    for (size_t cut2 = cut; cut2 <= stream.size(); cut2 += 7) {
      SseParser parser;
      std::vector<SseEvent> out;
      ASSERT_TRUE(parser.Feed(std::string_view(stream).substr(0, cut), out).ok());
      ASSERT_TRUE(parser.Feed(std::string_view(stream).substr(cut, cut2 - cut), out).ok());
      ASSERT_TRUE(parser.Feed(std::string_view(stream).substr(cut2), out).ok());
      ASSERT_EQ(out.size(), whole.size()) << "cut at " << cut << "," << cut2;
      for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(out[i].event, whole[i].event) << "cut at " << cut << "," << cut2;
        EXPECT_EQ(out[i].data, whole[i].data) << "cut at " << cut << "," << cut2;
        EXPECT_EQ(out[i].id, whole[i].id);
      }
    }
  }
  EXPECT_EQ(whole[0].data, "a\nb");
  EXPECT_EQ(whole[1].data, "x\ny");
  EXPECT_EQ(whole[2].event, "e3");
}

TEST(SseParser, ByteByByte) {
  SseParser parser;
  std::vector<SseEvent> out;
  for (char c : SseFrame("t", "hello\nworld", "5")) ASSERT_TRUE(parser.Feed(std::string_view(&c, 1), out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "hello\nworld");
  EXPECT_EQ(parser.last_event_id(), "5");
}

TEST(SseParser, AnEventLargerThanTheBoundIsAnError) {
  SseParser parser(1024);
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.Feed(SseFrame("", std::string(500, 'a')), out).ok());  // under the bound
  ASSERT_EQ(out.size(), 1u);
  // Many data lines that never end the event, fed in pieces: refused once past the bound.
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) s = parser.Feed("data: " + std::string(100, 'b') + "\n", out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(out.size(), 1u);
  // One line with no end at all is bounded too.
  SseParser line_parser(1024);
  Status t;
  for (int i = 0; i < 100 && t.ok(); ++i) t = line_parser.Feed(std::string(100, 'c'), out);
  EXPECT_EQ(t.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(line_parser.Feed("\n\n", out).ok());  // unusable afterwards
}

}  // namespace
}  // namespace llmdesk::net
