// tests/integration/chat_serve_fixture.h — `llmdesk serve` (a real process: control API, MCP tool server with
// the real calculator, history in the test's XDG dirs) whose one model is a `url:` backend: the scripted
// OpenAI stand-in (support/scripted_openai.h). Tests drive /api/chat over real HTTP and read the history db.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "control/control.h"
#include "integration/cli_manager_helpers.h"
#include "net/http_client.h"
#include "store/history.h"
#include "support/scripted_openai.h"
#include "support/test_support.h"

namespace llmdesk::test {

class ChatServe : public ::testing::Test {
 protected:
  using Json = nlohmann::json;
  struct Streamed {
    Status status;
    std::vector<std::pair<std::string, Json>> events;  // (SSE event name, data), in order
    std::vector<Json> Of(const std::string& name) const {
      std::vector<Json> out;
      for (const auto& [event, data] : events)
        if (event == name) out.push_back(data);
      return out;
    }
    std::string Dump() const {
      std::string out;
      for (const auto& [event, data] : events) out += event + " " + data.dump() + "\n";
      return out + status.ToString();
    }
  };

  void SetUp() override {
    const int base = FreePortRange(4);
    gateway_ = base;
    tool_port_ = base + 1;
    env_ = ScratchEnv(dir_.path());
  }

  // Starts `llmdesk serve` with the model `remote` at `model_url` and the given `chat:` section (YAML flow map).
  void Serve(const std::string& model_url, const std::string& chat = "{}") {
    std::string yaml = "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway_) + "}\n" +
                       "tool_server: {port: " + std::to_string(tool_port_) + ", tools: [calculator]}\n" +
                       "models:\n  remote:\n    url: " + model_url + "\nchat: " + chat + "\n";
    const auto config = dir_.Write("llm_backends.yaml", yaml);
    serve_ = std::make_unique<Proc>(std::vector<std::string>{BinPath("llmdesk").string(), "--config", config.string(), "serve"},
                                    env_);
    ASSERT_TRUE(serve_->WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(gateway_))) << serve_->Output();
    client_ = std::make_unique<control::ControlClient>("127.0.0.1", gateway_);
  }

  // POST /api/chat; `on` sees each event as it arrives (e.g. to answer an approval question).
  Streamed Chat(const Json& body, const std::function<void(const std::string&, const Json&)>& on = {}) {
    Streamed out;
    out.status = client_->Chat(body, [&](const std::string& event, const Json& data) {
      out.events.emplace_back(event, data);
      if (on) on(event, data);
      return true;
    });
    return out;
  }

  // A request to the control API with a raw body: (status, body).
  std::pair<int, std::string> Http(const std::string& method, const std::string& path, std::string body = "") {
    net::HttpRequest r;
    r.method = method;
    r.url = "http://127.0.0.1:" + std::to_string(gateway_) + path;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    r.timeout = std::chrono::seconds(30);
    auto res = http_.Send(r);
    if (!res.ok()) return {0, res.status().ToString()};
    return {res->status, res->body};
  }

  // The history database the server writes (opened alongside it, as `llmdesk history` does).
  std::unique_ptr<store::History> OpenHistory() {
    auto h = store::History::Open(dir_.path() / "data" / "llmdesk" / "history.db");
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? std::move(h).value() : nullptr;
  }

  TempDir dir_;
  int gateway_ = 0, tool_port_ = 0;
  std::map<std::string, std::string> env_;
  std::unique_ptr<Proc> serve_;
  std::unique_ptr<control::ControlClient> client_;
  net::HttpClient http_;
};

}  // namespace llmdesk::test
