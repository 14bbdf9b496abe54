// tools/units.cpp — the `convert_units` tool: length, mass, temperature, volume, speed and data size.
//
// Every unit is a linear map to its dimension's base unit: base = value * factor + offset (offset is
// non-zero only for temperature, which is affine). Names are matched after canonicalization (case,
// spaces, "°", "metre"/"meter", plurals), so "km", "kilometres" and "Kilometer" are one unit.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/text.h"
#include "tools/builtin.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

struct Unit {
  const char* symbol;     // canonical, shown in results
  const char* dimension;  // length, mass, ...
  double factor;          // to the dimension's base unit (m, kg, K, m³, m/s, byte)
  double offset;          // added after the factor (temperature only)
  std::vector<std::string> aliases;  // written canonically (see Canonical)
};

const std::vector<Unit>& Units() {
  static const std::vector<Unit> kUnits = {
      // length (base: metre)
      {"m", "length", 1, 0, {"m", "meter"}},
      {"km", "length", 1e3, 0, {"km", "kilometer"}},
      {"cm", "length", 1e-2, 0, {"cm", "centimeter"}},
      {"mm", "length", 1e-3, 0, {"mm", "millimeter"}},
      {"µm", "length", 1e-6, 0, {"µm", "um", "micrometer", "micron"}},
      {"nm", "length", 1e-9, 0, {"nm", "nanometer"}},
      {"mi", "length", 1609.344, 0, {"mi", "mile"}},
      {"yd", "length", 0.9144, 0, {"yd", "yds", "yard"}},
      {"ft", "length", 0.3048, 0, {"ft", "foot", "feet", "'"}},
      {"in", "length", 0.0254, 0, {"in", "inch", "inches", "\""}},
      {"nmi", "length", 1852, 0, {"nmi", "nautical mile"}},
      // mass (base: kilogram)
      {"kg", "mass", 1, 0, {"kg", "kilogram", "kilo"}},
      {"g", "mass", 1e-3, 0, {"g", "gram", "gramme"}},
      {"mg", "mass", 1e-6, 0, {"mg", "milligram"}},
      {"µg", "mass", 1e-9, 0, {"µg", "ug", "mcg", "microgram"}},
      {"t", "mass", 1e3, 0, {"t", "tonne", "metric ton"}},
      {"lb", "mass", 0.45359237, 0, {"lb", "lbs", "pound"}},
      {"oz", "mass", 0.028349523125, 0, {"oz", "ounce"}},
      {"st", "mass", 6.35029318, 0, {"st", "stone"}},
      {"short ton", "mass", 907.18474, 0, {"short ton", "us ton"}},
      {"long ton", "mass", 1016.0469088, 0, {"long ton", "imperial ton", "uk ton"}},
      // temperature (base: kelvin); K = value * factor + offset
      {"°C", "temperature", 1, 273.15, {"c", "celsius", "centigrade", "degc", "℃"}},
      {"°F", "temperature", 5.0 / 9.0, 459.67 * 5.0 / 9.0, {"f", "fahrenheit", "degf", "℉"}},
      {"K", "temperature", 1, 0, {"k", "kelvin"}},
      // volume (base: cubic metre)
      {"m³", "volume", 1, 0, {"m3", "m³", "cubic meter"}},
      {"L", "volume", 1e-3, 0, {"l", "liter", "ltr"}},
      {"mL", "volume", 1e-6, 0, {"ml", "milliliter"}},
      {"cL", "volume", 1e-5, 0, {"cl", "centiliter"}},
      {"dL", "volume", 1e-4, 0, {"dl", "deciliter"}},
      {"cm³", "volume", 1e-6, 0, {"cm3", "cm³", "cc", "cubic centimeter"}},
      {"ft³", "volume", 0.028316846592, 0, {"ft3", "ft³", "cubic foot", "cubic feet"}},
      {"in³", "volume", 1.6387064e-5, 0, {"in3", "in³", "cubic inch", "cubic inches"}},
      {"gal", "volume", 3.785411784e-3, 0, {"gal", "gallon", "us gallon", "us gal"}},
      {"imp gal", "volume", 4.54609e-3, 0, {"imp gal", "imperial gallon", "uk gallon"}},
      {"qt", "volume", 9.46352946e-4, 0, {"qt", "quart", "us quart"}},
      {"pt", "volume", 4.73176473e-4, 0, {"pt", "pint", "us pint"}},
      {"cup", "volume", 2.365882365e-4, 0, {"cup", "us cup"}},
      {"fl oz", "volume", 2.95735295625e-5, 0, {"fl oz", "floz", "fluid ounce", "us fluid ounce"}},
      {"tbsp", "volume", 1.478676478125e-5, 0, {"tbsp", "tablespoon"}},
      {"tsp", "volume", 4.92892159375e-6, 0, {"tsp", "teaspoon"}},
      // speed (base: metre per second)
      {"m/s", "speed", 1, 0, {"m/s", "mps", "meter per second", "meters per second"}},
      {"km/h", "speed", 1 / 3.6, 0, {"km/h", "kmh", "kph", "km/hr", "kilometer per hour", "kilometers per hour"}},
      {"mph", "speed", 0.44704, 0, {"mph", "mi/h", "mile per hour", "miles per hour"}},
      {"kn", "speed", 1852 / 3600.0, 0, {"kn", "kt", "knot"}},
      {"ft/s", "speed", 0.3048, 0, {"ft/s", "fps", "foot per second", "feet per second"}},
      // data size (base: byte); SI prefixes are powers of 1000, IEC "i" prefixes powers of 1024
      {"bit", "data size", 0.125, 0, {"bit"}},
      {"B", "data size", 1, 0, {"b", "byte", "octet"}},
      {"kB", "data size", 1e3, 0, {"kb", "kilobyte"}},
      {"MB", "data size", 1e6, 0, {"mb", "megabyte"}},
      {"GB", "data size", 1e9, 0, {"gb", "gigabyte"}},
      {"TB", "data size", 1e12, 0, {"tb", "terabyte"}},
      {"PB", "data size", 1e15, 0, {"pb", "petabyte"}},
      {"KiB", "data size", 1024.0, 0, {"kib", "kibibyte"}},
      {"MiB", "data size", 1048576.0, 0, {"mib", "mebibyte"}},
      {"GiB", "data size", 1073741824.0, 0, {"gib", "gibibyte"}},
      {"TiB", "data size", 1099511627776.0, 0, {"tib", "tebibyte"}},
      {"PiB", "data size", 1125899906842624.0, 0, {"pib", "pebibyte"}},
      {"kbit", "data size", 125, 0, {"kbit", "kilobit"}},
      {"Mbit", "data size", 125e3, 0, {"mbit", "megabit"}},
      {"Gbit", "data size", 125e6, 0, {"gbit", "gigabit"}},
      {"Tbit", "data size", 125e9, 0, {"tbit", "terabit"}},
  };
  return kUnits;
}

// Lower case, single spaces, "_" as space, no degree sign or "degree(s)" word, "metre"/"litre" as
// "meter"/"liter" — the form the alias table is written in.
std::string Canonical(std::string_view raw) {
  std::string s;
  for (char c : raw) s += (c == '_' || c == '-' || c == '\t') ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* sign : {"°", "º"})
    for (size_t p; (p = s.find(sign)) != std::string::npos;) s.erase(p, std::string_view(sign).size());
  auto replace_all = [&s](std::string_view from, std::string_view to) {
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  };
  replace_all("metre", "meter");
  replace_all("litre", "liter");
  replace_all("\u03bc", "\u00b5");  // Greek mu typed for "micro" -> the micro sign the table uses
  std::string collapsed;
  for (char c : s)
    if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' ')) collapsed += c;
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  for (std::string_view prefix : {"degrees ", "degree ", "deg "})
    if (collapsed.rfind(prefix, 0) == 0) collapsed.erase(0, prefix.size());
  return collapsed;
}

const Unit* Lookup(std::string_view raw) {
  static const std::map<std::string, const Unit*> kIndex = [] {
    std::map<std::string, const Unit*> index;
    for (const auto& u : Units())
      for (const auto& a : u.aliases) index.emplace(Canonical(a), &u);
    return index;
  }();
  std::string key = Canonical(raw);
  if (auto it = kIndex.find(key); it != kIndex.end()) return it->second;
  if (key.size() >= 4 && key.back() == 's')  // plurals: "kilometers", "pounds", "knots"
    if (auto it = kIndex.find(key.substr(0, key.size() - 1)); it != kIndex.end()) return it->second;
  return nullptr;
}

std::string UnknownUnit(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& u : Units()) {
    names.emplace_back(u.symbol);
    names.insert(names.end(), u.aliases.begin(), u.aliases.end());
  }
  std::string message = "unknown unit '" + name + "'.";
  if (auto s = ClosestMatch(Canonical(name), names)) message.back() = ';', message += " did you mean '" + *s + "'?";
  return message + " Supported: length, mass, temperature, volume, speed and data size units, e.g. km, lb, °F, L, mph, MiB.";
}

// Names that mean different units to different people: refuse to guess and say which to use.
std::optional<std::string> Ambiguous(std::string_view raw) {
  static const std::map<std::string, std::string, std::less<>> kAmbiguous = {
      {"ton", "'ton' is ambiguous: use 't' (metric tonne, 1000 kg), 'short ton' (US, 907.18 kg) or 'long ton' (UK, 1016.05 kg)"},
      {"tons", "'tons' is ambiguous: use 't' (metric tonne, 1000 kg), 'short ton' (US, 907.18 kg) or 'long ton' (UK, 1016.05 kg)"},
      {"Kb", "'Kb' is ambiguous: use 'kB' (kilobyte) or 'kbit' (kilobit)"},
      {"Mb", "'Mb' is ambiguous: use 'MB' (megabyte) or 'Mbit' (megabit)"},
      {"Gb", "'Gb' is ambiguous: use 'GB' (gigabyte) or 'Gbit' (gigabit)"},
      {"Tb", "'Tb' is ambiguous: use 'TB' (terabyte) or 'Tbit' (terabit)"},
  };
  if (auto it = kAmbiguous.find(raw); it != kAmbiguous.end()) return it->second;
  return std::nullopt;
}

ToolResult Convert(const json& args, const CallContext&) {
  const double value = args["value"].get<double>();
  const std::string from_name = args["from"].get<std::string>(), to_name = args["to"].get<std::string>();
  for (const auto* name : {&from_name, &to_name})
    if (auto message = Ambiguous(*name)) return ToolResult::Error(*message);
  const Unit* from = Lookup(from_name);
  if (!from) return ToolResult::Error(UnknownUnit(from_name));
  const Unit* to = Lookup(to_name);
  if (!to) return ToolResult::Error(UnknownUnit(to_name));
  if (std::string_view(from->dimension) != to->dimension)
    return ToolResult::Error(fmt::format("cannot convert {} ({}) to {} ({})", from->symbol, from->dimension,
                                         to->symbol, to->dimension));
  const double base = value * from->factor + from->offset;
  if (std::string_view(from->dimension) == "temperature" && base < 0)
    return ToolResult::Error(fmt::format("{} {} is below absolute zero", FormatNumber(value), from->symbol));
  const double result = (base - to->offset) / to->factor;
  if (!std::isfinite(result)) return ToolResult::Error("the result is not a finite number");
  std::string text = fmt::format("{} {} = {} {}", FormatNumber(value), from->symbol, FormatNumber(result), to->symbol);
  return StructuredResult(std::move(text), {{"value", value}, {"from", from->symbol}, {"to", to->symbol},
                                            {"result", result}, {"dimension", from->dimension}});
}

}  // namespace

Tool MakeUnitsTool() {
  Tool t;
  t.name = kUnitsTool;
  t.title = "Unit converter";
  t.description =
      "Converts a value between units of the same kind: length (m, km, cm, mm, mi, yd, ft, in, nmi), mass "
      "(kg, g, mg, t, lb, oz, st), temperature (°C, °F, K), volume (L, mL, m³, gal = US gallon, imp gal, qt, "
      "pt, cup, fl oz, tbsp, tsp), speed (m/s, km/h, mph, kn, ft/s) and data size (bit, B; kB/MB/GB/TB are "
      "powers of 1000, KiB/MiB/GiB/TiB powers of 1024). Unit names may be symbols or words (\"kilometres\", "
      "\"degrees Fahrenheit\").";
  json unit = {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}};
  json from = unit, to = unit;
  from["description"] = "Unit of `value`, e.g. \"km\", \"°F\", \"lb\", \"MiB\"";
  to["description"] = "Unit to convert to, of the same kind as `from`";
  t.input_schema = {{"type", "object"},
                    {"properties", {{"value", {{"type", "number"}, {"description", "The quantity to convert"}}},
                                    {"from", from}, {"to", to}}},
                    {"required", {"value", "from", "to"}},
                    {"additionalProperties", false}};
  t.output_schema = json{{"type", "object"},
                         {"properties", {{"value", {{"type", "number"}}}, {"from", {{"type", "string"}}},
                                         {"to", {{"type", "string"}}}, {"result", {{"type", "number"}}},
                                         {"dimension", {{"type", "string"}}}}},
                         {"required", {"value", "from", "to", "result", "dimension"}}};
  t.annotations = {{"title", t.title}, {"readOnlyHint", true}, {"destructiveHint", false},
                   {"idempotentHint", true}, {"openWorldHint", false}};
  t.run = Convert;
  return t;
}

}  // namespace llmdesk::tools
