// Unit tests for src/tools: the calculator (incl. hostile input), schema validation, time zones,
// unit conversion and the registry. The weather tool is tested in tests/integration/weather_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tools/tools.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

const Registry& All() {
  static const Registry registry = BuiltinTools({"calculator", "get_weather", "get_time", "convert_units"});
  return registry;
}

ToolResult CallOk(const std::string& tool, const json& args) {
  auto r = All().Call(tool, args, CallContext{});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ToolResult::Error("call failed");
}

// The schema violation's message ("" when valid); a violation must be an InvalidArgument status.
std::string SchemaError(const json& schema, const json& value) {
  Status status = ValidateAgainstSchema(schema, value);
  if (!status.ok()) {
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << status.ToString();
  }
  return status.message();
}

std::string Text(const ToolResult& r) {
  return r.content.size() == 1 ? r.content[0].value("text", "") : "<" + r.content.dump() + ">";
}

// Runs the calculator and returns its text; `error` says whether isError is expected.
std::string Calc(const std::string& expression, bool error = false) {
  ToolResult r = CallOk("calculator", {{"expression", expression}});
  EXPECT_EQ(r.is_error, error) << expression << " -> " << Text(r);
  return Text(r);
}

TEST(Calculator, Arithmetic) {
  EXPECT_EQ(Calc("2+2"), "4");
  EXPECT_EQ(Calc("2^10"), "1024");
  EXPECT_EQ(Calc("sqrt(2)"), "1.4142135623731");
  EXPECT_EQ(Calc("sin(pi/2)"), "1");
  EXPECT_EQ(Calc("10 % 3"), "1");
  EXPECT_EQ(Calc("min(3,4)"), "3");
  EXPECT_EQ(Calc("max(3, 4)"), "4");
  EXPECT_EQ(Calc("abs(-7.5)"), "7.5");
  EXPECT_EQ(Calc("ln(e)"), "1");
  EXPECT_EQ(Calc("log10(1000)"), "3");
  EXPECT_EQ(Calc("2^3^2"), "512");  // right-associative
  EXPECT_EQ(Calc("-2^2"), "-4");
  EXPECT_EQ(Calc("(1+2)*3 - 4/2"), "7");
  EXPECT_EQ(Calc("0.1+0.2"), "0.3");
  EXPECT_EQ(Calc("1e3"), "1000");
  EXPECT_EQ(Calc("-0"), "0");
  EXPECT_EQ(Calc("10^15"), "1000000000000000");
  EXPECT_EQ(Calc("2^53"), "9007199254740992");
  EXPECT_EQ(Calc("2^60"), "1.15292150460685e+18");
  EXPECT_EQ(Calc("1/3"), "0.333333333333333");
}

TEST(Calculator, StructuredContent) {
  ToolResult r = CallOk("calculator", {{"expression", "6*7"}});
  ASSERT_TRUE(r.structured);
  EXPECT_EQ((*r.structured)["result"], 42.0);
  EXPECT_EQ((*r.structured)["expression"], "6*7");
  EXPECT_EQ(SchemaError(*All().Find("calculator")->output_schema, *r.structured), "");
}

TEST(Calculator, ClearErrors) {
  EXPECT_EQ(Calc("1/0", true), "division by zero");
  EXPECT_EQ(Calc("5 % 0", true), "division by zero");
  EXPECT_EQ(Calc("foo(1)", true), "unknown function 'foo'");
  EXPECT_EQ(Calc("x + 1", true), "unknown variable 'x' (only the constants pi and e are defined)");
  EXPECT_EQ(Calc("2 3", true), "syntax error at position 3: unexpected '3'");
  EXPECT_EQ(Calc("(1+2", true), "syntax error: missing closing parenthesis");
  EXPECT_EQ(Calc("2+", true), "syntax error: the expression ends unexpectedly");
  EXPECT_EQ(Calc("1,2", true), "syntax error: give one expression, not several separated by commas");
  EXPECT_EQ(Calc("   ", true), "expression is empty");
  EXPECT_NE(Calc("sqrt(-1)", true).find("result is not a finite number"), std::string::npos);
}

// Expressions built to hurt: each must come back as an error result, quickly, without a crash.
TEST(Calculator, HostileInput) {
  std::string deep = std::string(1000, '(') + "1" + std::string(1000, ')');  // also over the length limit
  EXPECT_TRUE(CallOk("calculator", {{"expression", deep}}).is_error);
  std::string deep_short = std::string(400, '(') + "1" + std::string(400, ')');
  EXPECT_NE(Calc(deep_short, true).find("nested too deeply"), std::string::npos);
  EXPECT_NE(Calc("9^9^9^9", true).find("result is not a finite number"), std::string::npos);
  std::string nul = std::string("1+") + '\0' + "2";
  EXPECT_EQ(Calc(nul, true), "expression contains a NUL byte");
  std::string digits(1 << 20, '7');  // 1 MB: stopped by the schema's maxLength before the tool runs
  EXPECT_NE(Calc(digits, true).find("at most 1024 characters"), std::string::npos);
  std::string unclosed(5000, '(');
  EXPECT_TRUE(CallOk("calculator", {{"expression", unclosed}}).is_error);
  EXPECT_EQ(Calc(std::string(64, '(') + "1" + std::string(64, ')')), "1");  // at the limit: fine
  EXPECT_TRUE(CallOk("calculator", {{"expression", "\x01\x02"}}).is_error);
  // Error messages quote the input: shortened, and still valid UTF-8.
  std::string quoted = Calc("1+" + std::string(300, 'x') + "\u00e9", true);
  EXPECT_LT(quoted.size(), 120u) << quoted;
  EXPECT_NO_THROW((void)json(Calc("2 \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", true)).dump());
}

TEST(Calculator, ConcurrentCallsAreIndependent) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < 200; ++i) {
        auto r = All().Call("calculator", {{"expression", std::to_string(t) + "*1000+" + std::to_string(i)}}, {});
        if (!r.ok() || r->is_error || (*r->structured)["result"] != t * 1000 + i) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Schema, Violations) {
  auto error_text = [](const json& args) {
    ToolResult r = CallOk("calculator", args);
    EXPECT_TRUE(r.is_error);
    return Text(r);
  };
  EXPECT_EQ(error_text({{"expression", 42}}),
            "invalid arguments for calculator: arguments.expression: expected a string, got 42");
  EXPECT_EQ(error_text(json::object()),
            "invalid arguments for calculator: arguments: missing required property 'expression'");
  EXPECT_EQ(error_text(nullptr), "invalid arguments for calculator: arguments: missing required property 'expression'");
  EXPECT_EQ(error_text({{"expression", "1"}, {"extra", 1}}),
            "invalid arguments for calculator: arguments: unknown property 'extra' (accepted: expression)");
  EXPECT_EQ(error_text(json::array()), "invalid arguments for calculator: arguments: expected an object, got []");
}

TEST(Schema, Keywords) {
  json schema = {{"type", "object"},
                 {"properties",
                  {{"n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}},
                   {"s", {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}, {"enum", {"ab", "abc", "x"}}}},
                   {"a", {{"type", "array"}, {"items", {{"type", "number"}}}, {"minItems", 1}, {"maxItems", 2}}},
                   {"z", {{"type", {"string", "null"}}}},
                   {"b", {{"type", "boolean"}}}}}};
  EXPECT_EQ(SchemaError(schema, {{"n", 3}, {"s", "ab"}, {"a", {1.5}}, {"z", nullptr}, {"b", true}}), "");
  EXPECT_EQ(SchemaError(schema, {{"n", 3.0}}), "");  // 3.0 is an integer in JSON Schema
  EXPECT_EQ(SchemaError(schema, {{"n", 3.5}}), "arguments.n: expected an integer, got 3.5");
  EXPECT_EQ(SchemaError(schema, {{"n", 0}}), "arguments.n: must be at least 1, got 0");
  EXPECT_EQ(SchemaError(schema, {{"n", 11}}), "arguments.n: must be at most 10, got 11");
  EXPECT_EQ(SchemaError(schema, {{"s", "x"}}), "arguments.s: must be at least 2 characters long, got 1");
  EXPECT_EQ(SchemaError(schema, {{"s", "abcd"}}), "arguments.s: must be one of [\"ab\",\"abc\",\"x\"], got \"abcd\"");
  EXPECT_EQ(SchemaError(schema, {{"a", json::array()}}), "arguments.a: must have at least 1 items, got 0");
  EXPECT_EQ(SchemaError(schema, {{"a", {1, 2, 3}}}), "arguments.a: must have at most 2 items, got 3");
  EXPECT_EQ(SchemaError(schema, {{"a", {1, "2"}}}), "arguments.a[1]: expected a number, got \"2\"");
  EXPECT_EQ(SchemaError(schema, {{"z", 1}}), "arguments.z: expected a string or null, got 1");
  EXPECT_EQ(SchemaError(schema, {{"b", "yes"}}), "arguments.b: expected a boolean, got \"yes\"");
  EXPECT_EQ(SchemaError({{"type", "object"}}, {{"anything", 1}}), "");  // open by default
  // Long values are shortened in messages without splitting a UTF-8 character (the reply must stay JSON).
  // The dump is '"' + 51 'a' + 2-byte 'é's: byte 57 falls inside an 'é', so a plain cut would split it.
  std::string long_value = std::string(51, 'a');
  for (int i = 0; i < 10; ++i) long_value += "\u00e9";
  std::string message = SchemaError({{"type", "number"}}, long_value);
  EXPECT_EQ(message, "arguments: expected a number, got \"" + std::string(51, 'a') + "\u00e9\u00e9...");
  EXPECT_NO_THROW((void)json(message).dump());
}

TEST(Time, DefaultIsUtc) {
  ToolResult r = CallOk("get_time", json::object());
  ASSERT_FALSE(r.is_error) << Text(r);
  const json& s = *r.structured;
  EXPECT_EQ(s["timezone"], "UTC");
  EXPECT_EQ(s["utc_offset"], "+00:00");
  EXPECT_EQ(s["abbreviation"], "UTC");
  std::string local = s["local_time"];
  ASSERT_EQ(local.size(), 25u) << local;  // 2026-11-26T04:12:33+00:00
  EXPECT_EQ(local.substr(19), "+00:00");
  EXPECT_EQ(local.substr(0, 19), s["utc_time"].get<std::string>().substr(0, 19));
  EXPECT_EQ(SchemaError(*All().Find("get_time")->output_schema, s), "");
}

TEST(Time, NamedZones) {
  for (const char* zone : {"Asia/Kolkata", "Europe/Berlin", "America/New_York", "Australia/Adelaide"}) {
    ToolResult r = CallOk("get_time", {{"timezone", zone}});
    ASSERT_FALSE(r.is_error) << zone << ": " << Text(r);
    const json& s = *r.structured;
    std::string offset = s["utc_offset"];
    EXPECT_EQ(s["local_time"].get<std::string>().substr(19), offset);
    EXPECT_FALSE(s["abbreviation"].get<std::string>().empty());
    EXPECT_NE(std::string("MondayTuesdayWednesdayThursdayFridaySaturdaySunday").find(s["weekday"].get<std::string>()),
              std::string::npos);
  }
  // India has had no daylight saving time since 1945: the offset is fixed.
  EXPECT_EQ((*CallOk("get_time", {{"timezone", "Asia/Kolkata"}}).structured)["utc_offset"], "+05:30");
}

TEST(Time, UnknownZoneSuggests) {
  ToolResult r = CallOk("get_time", {{"timezone", "Europe/Berln"}});
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(Text(r).find("unknown time zone 'Europe/Berln'; did you mean 'Europe/Berlin'?"), std::string::npos) << Text(r);
  r = CallOk("get_time", {{"timezone", "New York"}});
  EXPECT_NE(Text(r).find("did you mean 'America/New_York'?"), std::string::npos) << Text(r);
  r = CallOk("get_time", {{"timezone", "../../../etc/passwd"}});
  EXPECT_TRUE(r.is_error);
  r = CallOk("get_time", {{"timezone", "Mars/Olympus_Mons"}});
  EXPECT_EQ(Text(r).rfind("unknown time zone 'Mars/Olympus_Mons'. Use an IANA name", 0), 0u) << Text(r);
}

// convert_units: returns the numeric result, failing the test on an error result.
double Convert(double value, const std::string& from, const std::string& to) {
  ToolResult r = CallOk("convert_units", {{"value", value}, {"from", from}, {"to", to}});
  EXPECT_FALSE(r.is_error) << from << "->" << to << ": " << Text(r);
  return r.structured ? (*r.structured)["result"].get<double>() : std::nan("");
}

TEST(Units, Conversions) {
  EXPECT_DOUBLE_EQ(Convert(5, "km", "m"), 5000);
  EXPECT_NEAR(Convert(1, "mile", "kilometres"), 1.609344, 1e-12);
  EXPECT_NEAR(Convert(12, "inches", "ft"), 1, 1e-12);
  EXPECT_NEAR(Convert(1, "lb", "g"), 453.59237, 1e-9);
  EXPECT_NEAR(Convert(100, "°C", "°F"), 212, 1e-9);
  EXPECT_NEAR(Convert(32, "fahrenheit", "celsius"), 0, 1e-9);
  EXPECT_NEAR(Convert(0, "K", "degrees Celsius"), -273.15, 1e-9);
  EXPECT_NEAR(Convert(-40, "F", "C"), -40, 1e-9);
  EXPECT_NEAR(Convert(1, "gallon", "L"), 3.785411784, 1e-12);
  EXPECT_NEAR(Convert(1, "m³", "litres"), 1000, 1e-9);
  EXPECT_NEAR(Convert(100, "km/h", "mph"), 62.1371192237334, 1e-9);
  EXPECT_NEAR(Convert(10, "knots", "km/h"), 18.52, 1e-9);
  EXPECT_DOUBLE_EQ(Convert(1, "MB", "kB"), 1000);
  EXPECT_DOUBLE_EQ(Convert(1, "MiB", "KiB"), 1024);
  EXPECT_DOUBLE_EQ(Convert(1, "GiB", "B"), 1073741824);
  EXPECT_DOUBLE_EQ(Convert(1, "byte", "bits"), 8);
  EXPECT_NEAR(Convert(1, "GB", "GiB"), 0.931322574615479, 1e-12);
}

TEST(Units, TextAndStructure) {
  ToolResult r = CallOk("convert_units", {{"value", 5}, {"from", "kilometers"}, {"to", "m"}});
  EXPECT_EQ(Text(r), "5 km = 5000 m");
  EXPECT_EQ((*r.structured)["dimension"], "length");
  EXPECT_EQ(SchemaError(*All().Find("convert_units")->output_schema, *r.structured), "");
}

TEST(Units, Errors) {
  auto error = [](const std::string& from, const std::string& to, double value = 1) {
    ToolResult r = CallOk("convert_units", {{"value", value}, {"from", from}, {"to", to}});
    EXPECT_TRUE(r.is_error);
    return Text(r);
  };
  EXPECT_EQ(error("kg", "m"), "cannot convert kg (mass) to m (length)");
  EXPECT_EQ(error("°C", "km/h"), "cannot convert °C (temperature) to km/h (speed)");
  EXPECT_NE(error("kilometr", "m").find("unknown unit 'kilometr'; did you mean 'kilometer'?"), std::string::npos);
  EXPECT_NE(error("m", "furlongzzz").find("unknown unit 'furlongzzz'"), std::string::npos);
  EXPECT_EQ(error("K", "C", -5), "-5 K is below absolute zero");
  EXPECT_NE(error("ton", "kg").find("'ton' is ambiguous"), std::string::npos);
  EXPECT_NE(error("Mb", "kB").find("use 'MB' (megabyte) or 'Mbit' (megabit)"), std::string::npos);
  EXPECT_EQ(error("qqqq", "m").find("did you mean"), std::string::npos);  // no wild guesses
}

TEST(Registry, BuiltinSubsetAndDescribe) {
  Registry subset = BuiltinTools({"get_time", "calculator", "no_such_tool"});
  std::vector<std::string> names;
  for (const auto& t : subset.List()) names.push_back(t->name);
  EXPECT_EQ(names, (std::vector<std::string>{"calculator", "get_time"}));
  EXPECT_EQ(subset.Find("get_weather"), nullptr);
  EXPECT_TRUE(BuiltinTools({}).List().empty());

  for (const auto& t : All().List()) {
    json d = t->Describe();
    EXPECT_EQ(d["name"], t->name);
    EXPECT_FALSE(d["title"].get<std::string>().empty());
    EXPECT_GT(d["description"].get<std::string>().size(), 40u);
    EXPECT_EQ(d["inputSchema"]["type"], "object");
    EXPECT_EQ(d["inputSchema"]["additionalProperties"], false);
    EXPECT_EQ(d["outputSchema"]["type"], "object");
    EXPECT_EQ(d["annotations"]["readOnlyHint"], true);
    EXPECT_EQ(d["annotations"]["openWorldHint"], t->name == "get_weather") << t->name;
  }
}

TEST(Registry, DuplicatesUnknownAndThrowingTools) {
  Registry r;
  Tool echo;
  echo.name = "echo";
  echo.input_schema = {{"type", "object"}};
  echo.run = [](const json& args, const CallContext&) { return ToolResult::Text(args.dump()); };
  ASSERT_TRUE(r.Add(echo).ok());
  EXPECT_EQ(r.Add(echo).code(), Status::Code::kAlreadyExists);
  Tool norun;
  norun.name = "norun";
  EXPECT_EQ(r.Add(norun).code(), Status::Code::kInvalidArgument);
  auto missing = r.Call("nope", json::object(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);

  Tool boom = echo;
  boom.name = "boom";
  boom.run = [](const json&, const CallContext&) -> ToolResult { throw std::runtime_error("kaput"); };
  ASSERT_TRUE(r.Add(boom).ok());
  auto thrown = r.Call("boom", json::object(), {});
  ASSERT_TRUE(thrown.ok());
  EXPECT_TRUE(thrown->is_error);
  EXPECT_EQ(Text(*thrown), "tool boom failed: kaput");
  EXPECT_EQ(r.List().size(), 2u);
}

TEST(ToolResult, Helpers) {
  ToolResult ok = ToolResult::Text("hi");
  EXPECT_FALSE(ok.is_error);
  EXPECT_EQ(ok.content, json::parse(R"([{"type":"text","text":"hi"}])"));
  ToolResult err = ToolResult::Error("bad");
  EXPECT_TRUE(err.is_error);
  EXPECT_EQ(err.content, json::parse(R"([{"type":"text","text":"bad"}])"));
}

}  // namespace
}  // namespace llmdesk::tools
