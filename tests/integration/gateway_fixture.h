// tests/integration/gateway_fixture.h — the whole stack (stack::Stack: manager, tool server, control API and
// the /v1 gateway) in the test process, on kernel-picked ports, with state and logs in a TempDir; HTTP helpers
// for the gateway; generated models (llmdesk-testmodel) and a process count for the real-engine tests.
#pragma once

#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "net/http_client.h"
#include "stack/stack.h"
#include "support/test_support.h"

namespace llmdesk::test {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class GatewayTest : public ::testing::Test {
 protected:
  // `models`: the body of the `models:` block; `gateway`: extra gateway keys, e.g. "max_loaded: 1".
  // `tweak` edits the loaded config before the stack starts.
  void StartStack(const std::string& models, const std::string& gateway = "",
                  const std::function<void(config::Config&)>& tweak = nullptr) {
    const int range = FreePortRange(8);
    std::string yaml = "engine:\n  llama_server: " + LlamaServerPath().string() + "\n" +
                       "gateway: {host: 127.0.0.1" + (gateway.empty() ? "" : ", " + gateway) + "}\n" +
                       "tool_server: {tools: [calculator, get_time]}\n" + "ports:\n  range: " + std::to_string(range) +
                       "-" + std::to_string(range + 7) + "\n" + "models:\n" + models;
    auto loaded = config::LoadString(yaml, "gateway-test.yaml", config::ProcessEnv());
    ASSERT_TRUE(loaded.ok()) << (loaded.errors().empty() ? "" : loaded.errors()[0].ToString()) << "\n" << yaml;
    loaded.config.gateway.port = 0;      // kernel-picked ports: tests run in parallel
    loaded.config.tool_server.port = 0;
    if (tweak) tweak(loaded.config);
    stack::Options o{.config = loaded.config, .control_api = true, .history = false};
    o.manager.state_dir = dir_.path() / "run";
    o.manager.log_dir = dir_.path() / "logs";
    o.manager.backoff_initial = 50ms;
    auto started = stack::Stack::Start(std::move(o));
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    stack_ = std::move(started).value();
    base_ = stack_->control_url();
  }
  void TearDown() override {
    if (stack_) (void)stack_->Stop(10s);
  }

  net::HttpResponse Send(const std::string& method, const std::string& path, const std::string& body = "",
                         net::HeaderList headers = {}) {
    net::HttpRequest q;
    q.method = method;
    q.url = base_ + path;
    q.body = body;
    q.headers = std::move(headers);
    if (!body.empty()) q.headers.emplace_back("Content-Type", "application/json");
    q.timeout = 120s;
    auto r = http_.Send(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : net::HttpResponse{};
  }
  net::HttpResponse Post(const std::string& path, const Json& body, net::HeaderList headers = {}) {
    return Send("POST", path, body.dump(), std::move(headers));
  }
  // A streamed POST: the whole body as text; `on_chunk` sees each piece as it arrives (false stops).
  std::string PostStream(const std::string& path, const Json& body,
                         const std::function<bool(std::string_view)>& on_chunk = nullptr, int* status = nullptr) {
    net::HttpRequest q;
    q.method = "POST";
    q.url = base_ + path;
    q.body = body.dump();
    q.headers = {{"Content-Type", "application/json"}};
    q.timeout = 120s;
    std::string all;
    Status s = http_.Stream(
        q,
        [&](int st, const net::HeaderList&) {
          if (status) *status = st;
          return true;
        },
        [&](std::string_view chunk) {
          all.append(chunk);
          return on_chunk ? on_chunk(chunk) : true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return all;
  }
  static Json Parse(const std::string& text) { return Json::parse(text, nullptr, false); }
  // The JSON of each `data:` event of an SSE body ([DONE] as the string "[DONE]").
  static std::vector<Json> Events(const std::string& sse) {
    std::vector<Json> out;
    size_t pos = 0;
    while ((pos = sse.find("data: ", pos)) != std::string::npos) {
      size_t end = sse.find("\n\n", pos);
      std::string data = sse.substr(pos + 6, end == std::string::npos ? std::string::npos : end - pos - 6);
      out.push_back(data == "[DONE]" ? Json("[DONE]") : Parse(data));
      if (end == std::string::npos) break;
      pos = end + 2;
    }
    return out;
  }
  static std::string StreamedText(const std::string& sse) {
    std::string text;
    for (const auto& e : Events(sse))
      if (e.is_object() && e.contains("choices") && !e["choices"].empty() && e["choices"][0]["delta"].contains("content") &&
          e["choices"][0]["delta"]["content"].is_string())
        text += e["choices"][0]["delta"]["content"].get<std::string>();
    return text;
  }

  // A generated model (llmdesk-testmodel with `args`), written into the TempDir.
  std::string MakeModel(const std::string& name, std::vector<std::string> args = {}) {
    auto path = dir_.path() / (name + ".gguf");
    args.insert(args.begin(), {BinPath("llmdesk-testmodel").string(), "--out", path.string()});
    auto r = RunCommand(args, 120s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path.string();
  }
  static std::string LocalModel(const std::string& name, const std::string& path, const std::string& more = "") {
    return "  " + name + ":\n    model: " + path + "\n    args: [--ctx-size, \"4096\"]\n    startup_timeout: 120\n" + more;
  }
  // Processes whose command line mentions `needle` (e.g. a model file only this test uses).
  static int CountProcesses(const std::string& needle) {
    int n = 0;
    DIR* d = opendir("/proc");
    if (!d) return -1;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::string cmd = ReadFileBytes(std::string("/proc/") + e->d_name + "/cmdline");
      if (cmd.find(needle) != std::string::npos && cmd.find("llama-server") != std::string::npos) ++n;
    }
    closedir(d);
    return n;
  }

  TempDir dir_;
  std::unique_ptr<stack::Stack> stack_;
  std::string base_;
  net::HttpClient http_;
};

}  // namespace llmdesk::test
