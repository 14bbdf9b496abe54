// common/text.h: the one "did you mean" matcher, edit distance and UTF-8 repair.
#include "common/text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace llmdesk {
namespace {

TEST(EditDistance, CountsAnAdjacentSwapAsOneEdit) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("port", ""), 4u);
  EXPECT_EQ(EditDistance("port", "port"), 0u);
  EXPECT_EQ(EditDistance("prot", "port"), 1u);  // swap
  EXPECT_EQ(EditDistance("autostrat", "autostart"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("ca", "abc"), 3u);  // optimal string alignment: no edits inside a swapped pair
}

TEST(ClosestMatch, OneThresholdForEveryCaller) {
  const std::vector<std::string> keys = {"port", "model", "autostart", "startup_timeout", "in"};
  EXPECT_EQ(ClosestMatch("prot", keys), "port");
  EXPECT_EQ(ClosestMatch("PORT", keys), "port");  // case-insensitive
  EXPECT_EQ(ClosestMatch("modle", keys), "model");
  EXPECT_EQ(ClosestMatch("startup_timout", keys), "startup_timeout");
  EXPECT_EQ(ClosestMatch("ton", keys), std::nullopt);  // 2 edits from "in": too far for a short word
  EXPECT_EQ(ClosestMatch("ports", keys), "port");
  EXPECT_EQ(ClosestMatch("xyz", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("port", {}), std::nullopt);
  // max(1, len/3): "calculatr" (9) may be 3 away; "qqqq" (4) only 1.
  EXPECT_EQ(ClosestMatch("clcultr", {"calculator"}), std::nullopt);  // 3 edits, 7 letters: at most 2
  EXPECT_EQ(ClosestMatch("calcultr", {"calculator"}), "calculator");  // 2 edits, 8 letters
  EXPECT_EQ(ClosestMatch("ab", {"xb", "ay"}), "xb");  // ties go to the first candidate
}

TEST(ClosestMatch, HugeInputIsNotCompared) {
  const std::string huge(3 << 20, 'p');
  EXPECT_EQ(ClosestMatch(huge, {"port", std::string(3 << 20, 'p')}), std::nullopt);
  EXPECT_EQ(ClosestMatch("port", {std::string(3 << 20, 'p'), "port"}), "port");  // huge candidates are skipped
}

TEST(ValidUtf8, KeepsGoodTextAndReplacesEveryBadByte) {
  const std::string good = "plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(ValidUtf8(good), good);
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ValidUtf8("a\xFF" "b"), "a" + fffd + "b");
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), fffd + fffd);                  // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), fffd + fffd + fffd);      // a UTF-16 surrogate
  EXPECT_EQ(ValidUtf8("\xE2\x82"), fffd + fffd);                  // cut short
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(ValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
  // What it is for: nlohmann::json::dump throws on invalid UTF-8, and not on the repaired text.
  EXPECT_THROW(nlohmann::json("x\xFF").dump(), nlohmann::json::type_error);
  EXPECT_NO_THROW(nlohmann::json(ValidUtf8("x\xFF")).dump());
}

TEST(Excerpt, ShortTextWholeLongTextCutAtACharacterWithItsSizeAndBadBytesReplaced) {
  EXPECT_EQ(Excerpt("port", 10), "port");
  EXPECT_EQ(Excerpt(std::string(10, 'a'), 10), std::string(10, 'a'));
  EXPECT_EQ(Excerpt(std::string(1 << 20, 'a'), 10), std::string(10, 'a') + "... (1048576 bytes)");
  // The cut never splits a character: "é" is two bytes, at offsets 3-4 of the text, so a cut at 4 moves to 3.
  EXPECT_EQ(Excerpt("abc\xC3\xA9" "defgh", 4), "abc... (10 bytes)");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Excerpt("a\xFF" "b", 10), "a" + fffd + "b");
  EXPECT_EQ(Excerpt(std::string(20, '\xFF'), 2), fffd + fffd + "... (20 bytes)");
}

}  // namespace
}  // namespace llmdesk
