// Config keys of the OpenAI-compatible gateway (issue 9): gateway.max_loaded, gateway.queue,
// gateway.cors_origins and a remote model's api_key (${ENV}), each with its bounds and error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace llmdesk::config {
namespace {

using ::testing::HasSubstr;

LoadResult Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return LoadString(yaml, "t.yaml", [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional(it->second);
  });
}

std::string Errors(const LoadResult& r) {
  std::string all;
  for (const auto& d : r.errors()) all += d.ToString() + "\n";
  return all;
}

TEST(ConfigGateway, DefaultsAreUnboundedLoadsAndAQueueOf64) {
  auto r = Load("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.gateway.max_loaded, 0);
  EXPECT_EQ(r.config.gateway.queue, 64);
}

TEST(ConfigGateway, MaxLoadedAndQueueAreRead) {
  auto r = Load("gateway: {port: 8760, max_loaded: 2, queue: 5}\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.gateway.max_loaded, 2);
  EXPECT_EQ(r.config.gateway.queue, 5);
  EXPECT_EQ(ToJson(r.config)["gateway"]["max_loaded"], 2);
}

TEST(ConfigGateway, OutOfRangeAndMisspeltKeysAreErrors) {
  EXPECT_THAT(Errors(Load("gateway: {queue: 0}\n")), HasSubstr("t.yaml:1:18: error: gateway.queue: expected an integer from 1"));
  EXPECT_THAT(Errors(Load("gateway: {max_loaded: -1}\n")), HasSubstr("gateway.max_loaded: expected an integer from 0"));
  EXPECT_THAT(Errors(Load("gateway: {max_load: 1}\n")), HasSubstr("did you mean 'max_loaded'"));
}

TEST(ConfigGateway, CorsOriginsAreReadAndShown) {
  auto r = Load("gateway:\n  cors_origins: [https://app.example, \"http://[::1]:5173\", \"${UI}\"]\n",
                {{"UI", "chrome-extension://abcdef"}});
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.gateway.cors_origins,
            (std::vector<std::string>{"https://app.example", "http://[::1]:5173", "chrome-extension://abcdef"}));
  EXPECT_EQ(ToJson(r.config)["gateway"]["cors_origins"][0], "https://app.example");
  EXPECT_TRUE(Load("").config.gateway.cors_origins.empty());
}

TEST(ConfigGateway, ABadCorsOriginIsAnErrorAtItsEntry) {
  const std::string errors = Errors(Load("gateway:\n  cors_origins:\n    - https://ok.example\n    - \"*\"\n"
                                         "    - https://app.example/\n    - app.example\n    - https://App.example\n"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:4:7: error: gateway.cors_origins: '*': it would let any web page use the gateway"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:5:7: error: gateway.cors_origins: 'https://app.example/': an origin has no path"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:6:7: error: gateway.cors_origins: 'app.example': expected scheme://host[:port]"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:7:7: error: gateway.cors_origins: 'https://App.example': the host must be lowercase"));
  EXPECT_EQ(errors.find("ok.example"), std::string::npos) << errors;
  EXPECT_THAT(Errors(Load("gateway: {cors_origins: https://app.example}\n")), HasSubstr("gateway.cors_origins: expected a list"));
  // The same origin twice (here once through ${UI}) is a mistake to point at, at the second entry.
  EXPECT_THAT(Errors(Load("gateway:\n  cors_origins: [https://app.example, \"${UI}\"]\n", {{"UI", "https://app.example"}})),
              HasSubstr("t.yaml:2:39: error: gateway.cors_origins: 'https://app.example' is listed twice"));
}

TEST(ConfigGateway, ARemoteApiKeyComesFromTheEnvironmentAndIsNeverPrinted) {
  auto r = Load("models:\n  far:\n    url: http://gpu-box:8000/v1\n    api_key: ${GPU_KEY}\n", {{"GPU_KEY", "sk-123"}});
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.models[0].api_key, "sk-123");
  const std::string shown = ToJson(r.config).dump() + ToYaml(r.config);
  EXPECT_EQ(shown.find("sk-123"), std::string::npos) << shown;
  EXPECT_EQ(ToJson(r.config)["models"]["far"]["api_key"], "<set>");
}

TEST(ConfigGateway, AnApiKeyOnASpawnedModelIsAnError) {
  auto r = Load("models:\n  local:\n    model: /m.gguf\n    api_key: abc\n");
  EXPECT_THAT(Errors(r), HasSubstr("t.yaml:4:14: error: models.local.api_key: api_key is for a `url:` (remote) server"));
}

}  // namespace
}  // namespace llmdesk::config
