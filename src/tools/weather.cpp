// tools/weather.cpp — the `get_weather` tool: current conditions and a 3-day forecast from Open-Meteo.
//
// Two keyless JSON APIs: the geocoding API turns a place name into coordinates, the forecast API gives
// `current` and `daily` blocks for coordinates. Both base URLs come from Options so tests can point them
// at a local server that replays recorded responses; the code path is otherwise the same.
// Everything that can go wrong out there (unknown place, HTTP errors, timeouts, garbage) becomes an
// isError result that says what happened.
#include <fmt/format.h>

#include "common/json_read.h"
#include "common/text.h"
#include "net/http_client.h"
#include "tools/builtin.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

constexpr int kForecastDays = 3;
constexpr size_t kMaxResponseBytes = 512 * 1024;  // real answers are a few kB

// WMO weather interpretation codes, as documented by Open-Meteo.
std::string Condition(int code) {
  switch (code) {
    case 0: return "clear sky";
    case 1: return "mainly clear";
    case 2: return "partly cloudy";
    case 3: return "overcast";
    case 45: return "fog";
    case 48: return "depositing rime fog";
    case 51: return "light drizzle";
    case 53: return "moderate drizzle";
    case 55: return "dense drizzle";
    case 56: return "light freezing drizzle";
    case 57: return "dense freezing drizzle";
    case 61: return "slight rain";
    case 63: return "moderate rain";
    case 65: return "heavy rain";
    case 66: return "light freezing rain";
    case 67: return "heavy freezing rain";
    case 71: return "slight snowfall";
    case 73: return "moderate snowfall";
    case 75: return "heavy snowfall";
    case 77: return "snow grains";
    case 80: return "slight rain showers";
    case 81: return "moderate rain showers";
    case 82: return "violent rain showers";
    case 85: return "slight snow showers";
    case 86: return "heavy snow showers";
    case 95: return "thunderstorm";
    case 96: return "thunderstorm with slight hail";
    case 99: return "thunderstorm with heavy hail";
    default: return "unknown (WMO code " + std::to_string(code) + ")";
  }
}

std::optional<double> Number(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;  // Open-Meteo sends null for gaps
  return it->get<double>();
}

std::optional<double> NumberAt(const json& object, const char* key, size_t i) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_array() || i >= it->size() || !(*it)[i].is_number()) return std::nullopt;
  return (*it)[i].get<double>();
}

// GET + JSON parse, with errors phrased for the model. `what` names the service in messages.
// The request is bounded by the tool's timeout (and never runs past ctx.deadline), its answer by
// kMaxResponseBytes, and it stops within 50 ms of ctx.cancelled() turning true.
Result<net::HttpResponse> Get(const std::string& url, const Options& options, const CallContext& ctx,
                              net::HttpClient& http) {
  using namespace std::chrono;
  auto timeout = options.http_timeout;
  if (ctx.deadline != steady_clock::time_point::max()) {
    auto left = duration_cast<milliseconds>(ctx.deadline - steady_clock::now());
    if (left <= milliseconds(0)) return Status::Timeout("the call's time limit ran out before the request to " + url);
    timeout = std::min(timeout, left);
  }
  net::HttpRequest req;
  req.url = url;
  req.timeout = std::max(timeout, milliseconds(1));
  req.connect_timeout = req.timeout;
  req.max_response_bytes = kMaxResponseBytes;
  req.follow_redirects = true;
  req.cancelled = ctx.cancelled;
  auto response = http.Send(req);
  if (response.status().code() == Status::Code::kCancelled) return Status::Cancelled("the call was cancelled");
  return response;
}

Result<json> FetchJson(const std::string& url, const std::string& what, const Options& options,
                       const CallContext& ctx, net::HttpClient& http) {
  auto response = Get(url, options, ctx, http);
  if (!response.ok()) {
    const Status& s = response.status();
    if (s.code() == Status::Code::kTimeout) return Status::Timeout("the " + what + " did not answer in time (" + s.message() + ")");
    if (s.code() == Status::Code::kCancelled) return s;
    if (s.code() == Status::Code::kFailedPrecondition) return s;  // libcurl missing: says what to install
    return Status::Unavailable("could not reach the " + what + ": " + s.message());
  }
  json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status != 200) {
    std::string reason = body.is_object() && body.contains("reason") && body["reason"].is_string()
                             ? ": " + body["reason"].get<std::string>()
                             : "";
    return Status::Unavailable("the " + what + " answered HTTP " + std::to_string(response->status) + reason);
  }
  if (!body.is_object()) return Status::Unavailable("the " + what + " sent a response that is not a JSON object");
  return body;
}

struct Place {
  std::string name, country;
  double latitude = 0, longitude = 0;
};

Result<Place> Geocode(const std::string& location, const Options& options, const CallContext& ctx,
                      net::HttpClient& http) {
  std::string url = options.geocoding_url + "?name=" + PercentEncode(location) + "&count=1&language=en&format=json";
  auto body = FetchJson(url, "geocoding service", options, ctx, http);
  if (!body.ok()) return body.status();
  auto results = body->find("results");  // absent when nothing matches
  if (results == body->end() || !results->is_array() || results->empty())
    return Status::NotFound("no place named '" + location + "' found; try a different spelling or give latitude/longitude");
  const json& first = (*results)[0];
  auto lat = Number(first, "latitude"), lon = Number(first, "longitude");
  if (!lat || !lon) return Status::Unavailable("the geocoding service returned a place without coordinates");
  Place p{JsonString(first, "name", location), JsonString(first, "country"), *lat, *lon};
  return p;
}

void Progress(const CallContext& ctx, double done, const char* message) {
  if (ctx.progress) ctx.progress(done, 2, message);
}

ToolResult FetchWeather(const json& args, const CallContext& ctx, const Options& options, net::HttpClient& http) {
  const bool has_location = args.contains("location");
  const bool has_lat = args.contains("latitude"), has_lon = args.contains("longitude");
  if (has_location && (has_lat || has_lon))
    return ToolResult::Error("give either 'location' or 'latitude' and 'longitude', not both");
  if (!has_location && !(has_lat && has_lon))
    return ToolResult::Error("give a place name in 'location', or both 'latitude' and 'longitude'");

  Place place;
  if (has_location) {
    Progress(ctx, 0, "finding the place");
    auto found = Geocode(args["location"].get<std::string>(), options, ctx, http);
    if (!found.ok()) return ToolResult::Error(found.status().message());
    place = *found;
  } else {
    place.latitude = args["latitude"].get<double>();
    place.longitude = args["longitude"].get<double>();
    place.name = fmt::format("{:.4f}, {:.4f}", place.latitude, place.longitude);
  }

  Progress(ctx, 1, "fetching the forecast");
  std::string url = fmt::format(
      "{}?latitude={}&longitude={}&current=temperature_2m,relative_humidity_2m,wind_speed_10m,weather_code"
      "&daily=weather_code,temperature_2m_max,temperature_2m_min&timezone=auto&forecast_days={}",
      options.forecast_url, place.latitude, place.longitude, kForecastDays);
  auto forecast = FetchJson(url, "weather service", options, ctx, http);
  if (!forecast.ok()) return ToolResult::Error(forecast.status().message());

  const json current = forecast->value("current", json::object());
  auto temperature = Number(current, "temperature_2m"), wind = Number(current, "wind_speed_10m");
  auto humidity = Number(current, "relative_humidity_2m"), code = Number(current, "weather_code");
  if (!temperature || !wind || !code)
    return ToolResult::Error("the weather service's answer has no current temperature, wind or weather code");

  json out = {{"location", place.name}, {"latitude", place.latitude}, {"longitude", place.longitude}};
  if (!place.country.empty()) out["country"] = place.country;
  json now = {{"temperature_c", *temperature}, {"wind_kmh", *wind}, {"condition", Condition(static_cast<int>(*code))}};
  if (humidity) now["humidity"] = *humidity;
  if (current.contains("time") && current["time"].is_string()) now["time"] = current["time"];
  out["current"] = now;

  std::string where = place.name + (place.country.empty() ? "" : ", " + place.country);
  std::string text = fmt::format("{}: {} °C, {}, wind {} km/h", where, FormatNumber(*temperature),
                                 now["condition"].get<std::string>(), FormatNumber(*wind));
  if (humidity) text += fmt::format(", humidity {}%", FormatNumber(*humidity));
  text += ".";

  json days = json::array();
  const json daily = forecast->value("daily", json::object());
  const json dates = daily.value("time", json::array());
  for (size_t i = 0; i < dates.size() && i < kForecastDays; ++i) {
    auto lo = NumberAt(daily, "temperature_2m_min", i), hi = NumberAt(daily, "temperature_2m_max", i);
    auto day_code = NumberAt(daily, "weather_code", i);
    if (!dates[i].is_string() || !lo || !hi || !day_code) continue;
    json day = {{"date", dates[i]}, {"min_c", *lo}, {"max_c", *hi}, {"condition", Condition(static_cast<int>(*day_code))}};
    text += fmt::format("\n{}: {}, {} to {} °C", dates[i].get<std::string>(), day["condition"].get<std::string>(),
                        FormatNumber(*lo), FormatNumber(*hi));
    days.push_back(std::move(day));
  }
  out["daily"] = std::move(days);
  Progress(ctx, 2, "done");
  return StructuredResult(std::move(text), std::move(out));
}

json OutputSchema() {
  json number = {{"type", "number"}};
  json day = {{"type", "object"},
              {"properties", {{"date", {{"type", "string"}, {"description", "YYYY-MM-DD, local date"}}},
                              {"min_c", number}, {"max_c", number}, {"condition", {{"type", "string"}}}}},
              {"required", {"date", "min_c", "max_c", "condition"}}};
  json current = {{"type", "object"},
                  {"properties", {{"temperature_c", number}, {"wind_kmh", number},
                                  {"humidity", {{"type", "number"}, {"description", "relative humidity, percent"}}},
                                  {"condition", {{"type", "string"}}},
                                  {"time", {{"type", "string"}, {"description", "local time of the observation"}}}}},
                  {"required", {"temperature_c", "wind_kmh", "condition"}}};
  return {{"type", "object"},
          {"properties", {{"location", {{"type", "string"}}}, {"country", {{"type", "string"}}},
                          {"latitude", number}, {"longitude", number}, {"current", current},
                          {"daily", {{"type", "array"}, {"items", day}}}}},
          {"required", {"location", "latitude", "longitude", "current", "daily"}}};
}

}  // namespace

Tool MakeWeatherTool(const Options& options) {
  Tool t;
  t.name = kWeatherTool;
  t.title = "Weather";
  t.description =
      "Gets the current weather (temperature in °C, wind in km/h, humidity, conditions) and a 3-day forecast "
      "(daily minimum/maximum °C and conditions) for a place. Give either 'location' (a city or place name, "
      "e.g. \"Berlin\" — the best match is used) or both 'latitude' and 'longitude'. Data from Open-Meteo.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"location", {{"type", "string"}, {"description", "Place name, e.g. \"Paris\" or \"San Francisco\""},
                      {"minLength", 1}, {"maxLength", 200}}},
        {"latitude", {{"type", "number"}, {"description", "Latitude in degrees, -90 to 90"},
                      {"minimum", -90}, {"maximum", 90}}},
        {"longitude", {{"type", "number"}, {"description", "Longitude in degrees, -180 to 180"},
                       {"minimum", -180}, {"maximum", 180}}}}},
      {"additionalProperties", false}};
  t.output_schema = OutputSchema();
  t.annotations = {{"title", t.title}, {"readOnlyHint", true}, {"destructiveHint", false},
                   {"idempotentHint", false}, {"openWorldHint", true}};
  // One client per tool: connections to the API are reused between calls. libcurl is loaded only by
  // the first call, so a tool server that never fetches weather never maps it.
  auto http = std::make_shared<net::HttpClient>();
  t.run = [options, http](const json& args, const CallContext& ctx) { return FetchWeather(args, ctx, options, *http); };
  return t;
}

}  // namespace llmdesk::tools
