// tools/time.cpp — the `get_time` tool: the current date and time in an IANA time zone.
//
// Uses howardhinnant date/tz. The database is loaded once by the library (thread-safe), from where
// tz_database.h says: on Linux the system's /usr/share/zoneinfo (Debian's tzdata), so the zone rules are as current
// as the OS; on Windows the text database from Debian's tzdata in the folder `tzdata` beside llmdesk.exe.
#include <algorithm>
#include <chrono>

#include <date/tz.h>

#include "common/json_read.h"
#include "common/text.h"
#include "tools/builtin.h"
#include "tools/tz_database.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> ZoneNames() {
  std::vector<std::string> names;
  // With the OS database (USE_OS_TZDB) links such as "UTC" appear as zones too; the text database (Windows)
  // keeps them apart.
  const date::tzdb& db = date::get_tzdb();
  for (const auto& z : db.zones) names.emplace_back(z.name());
#if !USE_OS_TZDB
  for (const auto& link : db.links) names.emplace_back(link.name());
#endif
  return names;
}

// "did you mean" for a zone: same name in other case, a city given without its region
// ("new york" -> America/New_York), or the nearest name by edit distance.
std::optional<std::string> SuggestZone(const std::string& wanted) {
  std::vector<std::string> names = ZoneNames();
  std::string key = Lower(wanted);
  std::replace(key.begin(), key.end(), ' ', '_');
  for (const auto& n : names)
    if (Lower(n) == key) return n;
  for (const auto& n : names) {
    auto slash = n.rfind('/');
    if (slash != std::string::npos && Lower(n.substr(slash + 1)) == key) return n;
  }
  return ClosestMatch(wanted, names);
}

ToolResult TellTime(const json& args, const CallContext&) {
  const std::string name = JsonString(args, "timezone", "UTC");
  if (Status ready = PrepareTimeZoneDatabase(); !ready.ok()) return ToolResult::Error(ready.message());
  try {
    (void)date::get_tzdb();  // loads it on the first call: a failure here is the database's, not the name's
  } catch (const std::exception& e) {
    return ToolResult::Error("get_time cannot read the time zone database, " + TimeZoneDatabaseName() + ": " +
                             e.what());
  }
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(name);
  } catch (const std::exception&) {
    std::string message = "unknown time zone '" + name + "'.";
    try {
      if (auto s = SuggestZone(name)) message.back() = ';', message += " did you mean '" + *s + "'?";
    } catch (const std::exception&) {  // no zone list available: the plain message will do
    }
    return ToolResult::Error(message + " Use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'.");
  }
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  date::zoned_seconds local{zone, now};
  date::sys_info info;
  std::string iso, offset, weekday;
  try {  // the zone's rules are read on first use: a damaged database fails here, not in locate_zone
    info = local.get_info();
    iso = date::format("%FT%T%Ez", local);
    offset = date::format("%Ez", local);
    weekday = date::format("%A", local);
  } catch (const std::exception& e) {
    return ToolResult::Error("get_time cannot read the rules of '" + name + "' from " + TimeZoneDatabaseName() +
                             ": " + e.what());
  }
  const std::string utc = date::format("%FT%TZ", now);
  json out = {{"timezone", name},
              {"local_time", iso},
              {"utc_time", utc},
              {"abbreviation", info.abbrev},
              {"utc_offset", offset},
              {"weekday", weekday},
              {"dst", info.save != std::chrono::minutes(0)}};
  std::string text = weekday + " " + iso + " (" + info.abbrev + ", UTC" + offset + ") in " + name;
  return StructuredResult(std::move(text), std::move(out));
}

}  // namespace

Tool MakeTimeTool() {
  Tool t;
  t.name = kTimeTool;
  t.title = "Current time";
  t.description =
      "Gets the current date and time in an IANA time zone: ISO 8601 local time with UTC offset, the zone "
      "abbreviation (e.g. CET), the offset and the weekday. Use it whenever the answer depends on today's date "
      "or the time somewhere. 'timezone' is an IANA name like \"Europe/Berlin\", \"America/New_York\", "
      "\"Asia/Tokyo\"; it defaults to UTC.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"timezone", {{"type", "string"}, {"description", "IANA time zone name; default \"UTC\""},
                      {"minLength", 1}, {"maxLength", 64}, {"default", "UTC"}}}}},
      {"additionalProperties", false}};
  json str = {{"type", "string"}};
  t.output_schema = json{
      {"type", "object"},
      {"properties", {{"timezone", str},
                      {"local_time", {{"type", "string"}, {"description", "ISO 8601 with offset"}}},
                      {"utc_time", str}, {"abbreviation", str},
                      {"utc_offset", {{"type", "string"}, {"description", "+hh:mm"}}},
                      {"weekday", str}, {"dst", {{"type", "boolean"}}}}},
      {"required", {"timezone", "local_time", "utc_time", "abbreviation", "utc_offset", "weekday"}}};
  t.annotations = {{"title", t.title}, {"readOnlyHint", true}, {"destructiveHint", false},
                   {"idempotentHint", false}, {"openWorldHint", false}};
  t.run = TellTime;
  return t;
}

}  // namespace llmdesk::tools
