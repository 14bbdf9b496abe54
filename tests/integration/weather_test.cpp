// Integration test of the get_weather tool against a local stand-in for Open-Meteo: a net::HttpServer on 127.0.0.1 (kernel-picked port) that replays the responses in tests/fixtures/open-meteo/.
// The tool's code path is the production one (net::HttpClient over libcurl, JSON parsing); only Options' base URLs differ.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "common/unique_fd.h"
#include "net/http_server.h"
#include "support/test_support.h"
#include "tools/tools.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(LLMDESK_SOURCE_DIR) + "/tests/fixtures/open-meteo/" + name);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The stand-in for Open-Meteo. Serves /good/v1/{search,forecast} from the fixtures and a few broken
// variants; records the query parameters it was sent.
class FakeOpenMeteo {
 public:
  FakeOpenMeteo() : server_(net::ServerOptions{}) {
    using net::Request;
    using net::Response;
    server_.Route("GET", "/good/v1/search", [this](Request& req) {
      Record(req);
      return Response::Text(200, Fixture(req.Query("name") == "Berlin" ? "geocoding-berlin.json" : "geocoding-none.json"),
                            "application/json");
    });
    server_.Route("GET", "/good/v1/forecast", [this](Request& req) {
      Record(req);
      return Response::Text(200, Fixture("forecast-berlin.json"), "application/json");
    });
    server_.Route("GET", "/http500/v1/forecast", [](Request&) { return Response::Text(500, "Internal Server Error"); });
    server_.Route("GET", "/http400/v1/forecast", [](Request&) {
      return Response::Text(400, Fixture("forecast-error-400.json"), "application/json");
    });
    server_.Route("GET", "/garbage/v1/forecast", [](Request&) {
      return Response::Text(200, "<html>not json</html>", "text/html");
    });
    server_.Route("GET", "/huge/v1/forecast", [](Request&) {
      return Response::Text(200, std::string(2 << 20, ' '), "application/json");
    });
    Status bound = server_.Bind();
    EXPECT_TRUE(bound.ok()) << bound.ToString();
    EXPECT_TRUE(server_.Start().ok());
  }
  std::string Url(const std::string& variant, const std::string& endpoint) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/" + variant + "/v1/" + endpoint;
  }
  std::vector<net::HeaderList> Received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void Record(const net::Request& req) {
    std::lock_guard lock(mu_);
    received_.push_back(req.query);
  }
  std::mutex mu_;
  std::vector<net::HeaderList> received_;
  net::HttpServer server_;  // last: stopped first, while what its handlers use still exists
};

// A TCP listener that never accepts: connections complete in the kernel backlog and then nothing is
// ever answered — the "server that never answers".
class SilentServer {
 public:
  SilentServer() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  std::string Url(const std::string& endpoint) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/" + endpoint;
  }

 private:
  UniqueFd fd_;
  int port_ = 0;
};

ToolResult Weather(const Options& options, const json& args, const CallContext& ctx = {}) {
  Registry registry = BuiltinTools({"get_weather"}, options);
  auto r = registry.Call("get_weather", args, ctx);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ToolResult::Error("call failed");
}

std::string Text(const ToolResult& r) { return r.content.at(0).value("text", ""); }

Options Good(const FakeOpenMeteo& server) {
  return Options{server.Url("good", "search"), server.Url("good", "forecast"), std::chrono::seconds(30)};
}

TEST(Weather, ByPlaceName) {
  FakeOpenMeteo server;
  ToolResult r = Weather(Good(server), {{"location", "Berlin"}});
  ASSERT_FALSE(r.is_error) << Text(r);
  ASSERT_TRUE(r.structured);
  const json& s = *r.structured;
  EXPECT_EQ(s["location"], "Berlin");
  EXPECT_EQ(s["country"], "Germany");
  EXPECT_DOUBLE_EQ(s["latitude"].get<double>(), 52.52437);
  EXPECT_DOUBLE_EQ(s["longitude"].get<double>(), 13.41053);
  EXPECT_EQ(s["current"], json::parse(R"({"temperature_c":2.4,"wind_kmh":11.9,"humidity":87.0,
                                          "condition":"overcast","time":"2026-11-26T05:00"})"));
  ASSERT_EQ(s["daily"].size(), 3u);
  EXPECT_EQ(s["daily"][1], json::parse(R"({"date":"2026-11-27","min_c":1.8,"max_c":5.3,"condition":"slight rain"})"));
  EXPECT_EQ(s["daily"][2]["condition"], "slight snowfall");
  EXPECT_TRUE(ValidateAgainstSchema(*BuiltinTools({"get_weather"}).Find("get_weather")->output_schema, s).ok());
  EXPECT_EQ(Text(r).substr(0, 64), "Berlin, Germany: 2.4 °C, overcast, wind 11.9 km/h, humidity 87%");

  // What the tool asked the (stand-in) API for: the real API's parameter names.
  auto received = server.Received();
  ASSERT_EQ(received.size(), 2u);
  auto param = [](const net::HeaderList& p, const std::string& key) {
    for (const auto& [k, v] : p)
      if (k == key) return v;
    return std::string("<missing>");
  };
  EXPECT_EQ(param(received[0], "name"), "Berlin");
  EXPECT_EQ(param(received[0], "count"), "1");
  EXPECT_EQ(param(received[1], "latitude"), "52.52437");
  EXPECT_EQ(param(received[1], "longitude"), "13.41053");
  EXPECT_EQ(param(received[1], "current"), "temperature_2m,relative_humidity_2m,wind_speed_10m,weather_code");
  EXPECT_EQ(param(received[1], "daily"), "weather_code,temperature_2m_max,temperature_2m_min");
  EXPECT_EQ(param(received[1], "forecast_days"), "3");
}

TEST(Weather, PlaceNamesAreUrlEncoded) {
  FakeOpenMeteo server;
  ToolResult r = Weather(Good(server), {{"location", "São Paulo & Co?"}});
  EXPECT_TRUE(r.is_error);
  auto received = server.Received();
  ASSERT_EQ(received.size(), 1u);
  ASSERT_FALSE(received[0].empty());
  EXPECT_EQ(received[0][0], (std::pair<std::string, std::string>("name", "São Paulo & Co?")));
}

TEST(Weather, ByCoordinates) {
  FakeOpenMeteo server;
  ToolResult r = Weather(Good(server), {{"latitude", 52.52}, {"longitude", 13.42}});
  ASSERT_FALSE(r.is_error) << Text(r);
  EXPECT_EQ((*r.structured)["location"], "52.5200, 13.4200");
  EXPECT_FALSE(r.structured->contains("country"));
  EXPECT_EQ(server.Received().size(), 1u);  // no geocoding call
}

TEST(Weather, UnknownPlace) {
  FakeOpenMeteo server;
  ToolResult r = Weather(Good(server), {{"location", "Xyzzy"}});
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(Text(r).rfind("no place named 'Xyzzy' found", 0), 0u) << Text(r);
}

TEST(Weather, BadArguments) {
  FakeOpenMeteo server;
  EXPECT_NE(Text(Weather(Good(server), json::object())).find("give a place name in 'location'"), std::string::npos);
  EXPECT_NE(Text(Weather(Good(server), {{"latitude", 1}})).find("or both 'latitude' and 'longitude'"), std::string::npos);
  EXPECT_NE(Text(Weather(Good(server), {{"location", "Berlin"}, {"latitude", 1}})).find("not both"), std::string::npos);
  EXPECT_EQ(Text(Weather(Good(server), {{"latitude", 91}, {"longitude", 0}})),
            "invalid arguments for get_weather: arguments.latitude: must be at most 90, got 91");
  EXPECT_TRUE(server.Received().empty());
}

TEST(Weather, HttpErrorsAndGarbage) {
  FakeOpenMeteo server;
  auto with_forecast = [&](const std::string& variant) {
    Options o = Good(server);
    o.forecast_url = server.Url(variant, "forecast");
    ToolResult r = Weather(o, {{"latitude", 1}, {"longitude", 2}});
    EXPECT_TRUE(r.is_error) << variant;
    return Text(r);
  };
  EXPECT_EQ(with_forecast("http500"), "the weather service answered HTTP 500");
  EXPECT_NE(with_forecast("http400").find("answered HTTP 400: Cannot initialize WeatherVariable"), std::string::npos);
  EXPECT_NE(with_forecast("garbage").find("not a JSON object"), std::string::npos);
  EXPECT_NE(with_forecast("huge").find("is larger than"), std::string::npos);
  EXPECT_NE(with_forecast("nonexistent").find("HTTP 404"), std::string::npos);
}

TEST(Weather, ConnectionRefused) {
  // A socket bound to a port but never listening: connects to it are refused while we hold it.
  int port = 0;
  UniqueFd fd = test::BindLoopbackSocket(port);
  Options o{"http://127.0.0.1:" + std::to_string(port) + "/v1/search", "unused", std::chrono::seconds(10)};
  ToolResult r = Weather(o, {{"location", "Berlin"}});
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(Text(r).rfind("could not reach the geocoding service", 0), 0u) << Text(r);
}

TEST(Weather, ServerThatNeverAnswersTimesOut) {
  SilentServer silent;
  Options o{silent.Url("search"), silent.Url("forecast"), std::chrono::milliseconds(300)};
  ToolResult r = Weather(o, {{"location", "Berlin"}});
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(Text(r).rfind("the geocoding service did not answer in time", 0), 0u) << Text(r);
}

TEST(Weather, CallDeadlineBoundsTheRequest) {
  SilentServer silent;
  Options o{silent.Url("search"), silent.Url("forecast"), std::chrono::seconds(60)};
  CallContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  ToolResult r = Weather(o, {{"latitude", 1}, {"longitude", 2}}, ctx);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(Text(r).rfind("the weather service did not answer in time", 0), 0u) << Text(r);
}

TEST(Weather, CancellationAbortsTheRequest) {
  SilentServer silent;
  Options o{silent.Url("search"), silent.Url("forecast"), std::chrono::seconds(60)};
  CallContext ctx;
  int polls = 0;  // cancelled once libcurl has polled a few times while waiting for an answer
  ctx.cancelled = [&polls] { return ++polls > 3; };
  ToolResult r = Weather(o, {{"location", "Berlin"}}, ctx);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(Text(r), "the call was cancelled");
  EXPECT_GT(polls, 3);
}

}  // namespace
}  // namespace llmdesk::tools
