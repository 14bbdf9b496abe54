// Issue 12 item 5 — the security checks as one matrix. Each row of the issue is a test here, run against the
// real `llmdesk serve` process (its listeners, its files, its children) and the real CLI; the HTTP rows run
// once per surface (TEST_P): the MCP tool server (/mcp on tool_server.port), the OpenAI gateway (/v1) and the
// control API (/api), both on gateway.port.
//
//   a  SecurityMatrix/HttpSurface.ForeignOriginIs403AndLoopbackOriginsAreServed/{ToolServer,Gateway,ControlApi}
//   b  SecurityMatrix/HttpSurface.ForeignHostIs403AgainstDnsRebinding/...
//   c  SecurityMatrix/HttpSurface.WithATokenAMissingOrWrongOneIs401AndTheRightOneIsServed/...
//   d  SecurityMatrix/HttpSurface.OversizedBodyIs413AndTheServerKeepsServing/...
//      SecurityMatrix/HttpSurface.OversizedHeaderBlockIs431AndTheServerKeepsServing/...
//   e  SecurityMatrix.NonLoopbackHostWithoutATokenIsRefusedByConfigCheck
//      SecurityMatrix.NothingListensBeyondLoopbackByDefault
//   f  SecurityMatrix.ConfigCommandAndArgsNeverReachAShell
//   g  SecurityMatrix.StateLogAndDatabaseFilesAre0600In0700Directories
//      SecurityMatrix.PlantedSymlinksAtStateLogAndDatabaseFilesAreNeverFollowed
//      SecurityMatrix.APlantedSymlinkAtTheLockFileIsRefused
//   h  SecurityMatrix.TheCliNeverSendsItsTokenToAPortHeldByAnotherProgram
//
// Not applicable, by design: the gateway and the control API share one listener and one token
// (gateway.token), so (c) checks the same secret on both paths and the tool server's token
// (tool_server.token) on the other; the Host check (b) applies only while no token is set (a token-protected
// listener on a LAN address is reached by other names on purpose: net/http_policy.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "integration/security_matrix_support.h"
#include "integration/tool_server_process.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// ---- The HTTP surfaces ---------------------------------------------------------------------------------------
struct Surface {
  std::string name;
  bool on_tool_port;     // tool_server.port, else gateway.port
  std::string method;    // a request the surface serves with 200 ...
  std::string path;
  std::string body;
  HeaderPairs headers;   // ... with what its clients send besides
  std::string post_path;  // a POST route whose body is bounded
};

void PrintTo(const Surface& s, std::ostream* os) { *os << s.name; }

const std::string kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},)"
    R"("clientInfo":{"name":"security-matrix","version":"1"}}})";

const Surface kToolServer{"ToolServer", true, "POST", "/mcp", kInitialize,
                          {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "application/json"}}, "/mcp"};
const Surface kGateway{"Gateway", false, "GET", "/v1/models", "", {}, "/v1/chat/completions"};
const Surface kControlApi{"ControlApi", false, "GET", "/api/backends", "", {}, "/api/chat"};

constexpr const char* kGatewayToken = "gw-s3cret-token";
constexpr const char* kToolToken = "ts-s3cret-token";

class HttpSurface : public ::testing::TestWithParam<Surface> {
 protected:
  // `llmdesk serve` with one `url:` model (never spawned); with_tokens sets gateway.token and tool_server.token.
  void StartServe(bool with_tokens) {
    const int base = FreePortRange(2);
    std::string yaml = "gateway: {port: " + std::to_string(base) + (with_tokens ? std::string(", token: ") + kGatewayToken : "") +
                       "}\ntool_server: {port: " + std::to_string(base + 1) + ", tools: [calculator]" +
                       (with_tokens ? std::string(", token: ") + kToolToken : "") +
                       "}\nmodels:\n  remote: {url: \"http://127.0.0.1:9/v1\"}\n";
    serve_ = std::make_unique<ServeProcess>(dir_, yaml);
    ASSERT_TRUE(serve_->WaitUp()) << serve_->Output();
    port_ = GetParam().on_tool_port ? serve_->tool_port() : serve_->api_port();
  }
  std::string Token() const { return GetParam().on_tool_port ? kToolToken : kGatewayToken; }
  std::string OtherSurfacesToken() const { return GetParam().on_tool_port ? kGatewayToken : kToolToken; }
  std::string LoopbackHost() const { return "127.0.0.1:" + std::to_string(port_); }

  // The surface's normal request with `extra` headers (and `host` as the Host header).
  Reply Send(const HeaderPairs& extra, const std::string& host = "") {
    const auto& s = GetParam();
    HeaderPairs headers = s.headers;
    headers.insert(headers.end(), extra.begin(), extra.end());
    return RawExchange(port_, HttpText(s.method, s.path, host.empty() ? LoopbackHost() : host, headers, s.body));
  }
  void ExpectServed(const HeaderPairs& extra = {}, const std::string& host = "") {
    Reply r = Send(extra, host);
    EXPECT_EQ(r.status, 200) << GetParam().name << ": " << r.text.substr(0, 400);
  }

  TempDir dir_;
  std::unique_ptr<ServeProcess> serve_;
  int port_ = 0;
};

// (a) A web page on another origin must not drive llmdesk from the user's browser.
TEST_P(HttpSurface, ForeignOriginIs403AndLoopbackOriginsAreServed) {
  StartServe(false);
  for (const char* origin : {"http://evil.example", "https://evil.example:443", "null", "http://127.0.0.1.evil.example",
                             "http://localhost.evil.example:8760", "file://"}) {
    Reply r = Send({{"Origin", origin}});
    EXPECT_EQ(r.status, 403) << "Origin " << origin << ": " << r.text.substr(0, 400);
  }
  ExpectServed();  // no Origin: a non-browser client
  for (const char* origin : {"http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080"}) ExpectServed({{"Origin", origin}});
}

// (b) DNS rebinding: evil.example resolves to 127.0.0.1 after the page loaded; the browser sends its own name.
TEST_P(HttpSurface, ForeignHostIs403AgainstDnsRebinding) {
  StartServe(false);
  const std::string port = std::to_string(port_);
  const std::vector<std::string> foreign = {"evil.example:" + port, "evil.example", "127.0.0.1.nip.io:" + port,
                                            "localhost.evil.example:" + port, "192.168.1.5:" + port, "[::ffff:7f00:1]:" + port};
  for (const auto& host : foreign) {
    Reply r = Send({}, host);
    EXPECT_EQ(r.status, 403) << "Host '" << host << "': " << r.text.substr(0, 400);
  }
  ExpectServed({}, "localhost:" + port);
  ExpectServed({}, "[::1]:" + port);
  ExpectServed({}, "127.0.0.1:" + port);
}

// (c) With a token configured, nothing is served without it.
TEST_P(HttpSurface, WithATokenAMissingOrWrongOneIs401AndTheRightOneIsServed) {
  StartServe(true);
  const std::vector<HeaderPairs> refused = {
      {},
      {{"Authorization", "Bearer wrong"}},
      {{"Authorization", "Bearer " + OtherSurfacesToken()}},
      {{"Authorization", Token()}},                    // no scheme
      {{"Authorization", "Basic " + Token()}},         // another scheme
      {{"Authorization", "Bearer " + Token() + "x"}},  // a longer one
      {{"Authorization", "Bearer " + Token().substr(0, Token().size() - 1)}},
      {{"X-Api-Key", Token()}},
  };
  for (const auto& headers : refused) {
    Reply r = Send(headers);
    EXPECT_EQ(r.status, 401) << (headers.empty() ? "no token" : headers[0].first + ": " + headers[0].second) << ": "
                             << r.text.substr(0, 400);
    EXPECT_THAT(r.text, HasSubstr("WWW-Authenticate: Bearer"));
  }
  ExpectServed({{"Authorization", "Bearer " + Token()}});
  // A token does not lift the Origin check.
  Reply r = Send({{"Authorization", "Bearer " + Token()}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(r.status, 403) << r.text.substr(0, 400);
}

// (d) Bodies are bounded: a declared 1 GiB is refused before a byte of it is read, and 48 MiB really sent (past
// every surface's limit; the largest is the gateway's 32 MiB) is cut off while it is read.
TEST_P(HttpSurface, OversizedBodyIs413AndTheServerKeepsServing) {
  StartServe(false);
  const auto& s = GetParam();
  std::string declared = "POST " + s.post_path + " HTTP/1.1\r\nHost: " + LoopbackHost() +
                         "\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
                         "Content-Length: 1073741824\r\nConnection: close\r\n\r\n{\"a\":\"";
  Reply r = RawExchange(port_, declared);
  EXPECT_EQ(r.status, 413) << r.text.substr(0, 400);

  Raw chunked(port_);
  ASSERT_TRUE(chunked.connected());
  chunked.Send("POST " + s.post_path + " HTTP/1.1\r\nHost: " + LoopbackHost() +
               "\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  std::string answer;
  for (int i = 0; i < 48 * 16 && answer.empty(); ++i) {
    if (!chunked.Send(chunk)) break;                                          // the server closed after answering
    if (i % 16 == 15) answer = chunked.ReadUntil("\r\n\r\n", 1ms);           // answered already?
  }
  answer = chunked.ReadUntil("\x01 until EOF", 20s);
  EXPECT_EQ(StatusOf(answer), 413) << answer.substr(0, 400);

  ExpectServed();
  EXPECT_FALSE(serve_->proc().Wait(0ms).has_value()) << serve_->Output();
}

// (d) Headers are bounded too: one 64 KiB header, or 10,000 small ones (16 KiB is the bound), get 431.
TEST_P(HttpSurface, OversizedHeaderBlockIs431AndTheServerKeepsServing) {
  StartServe(false);
  Reply big = Send({{"X-Big", std::string(64 * 1024, 'a')}});
  EXPECT_EQ(big.status, 431) << big.text.substr(0, 400);
  HeaderPairs many;
  for (int i = 0; i < 10000; ++i) many.emplace_back("X-H" + std::to_string(i), "v");
  Reply flood = Send(many);
  EXPECT_EQ(flood.status, 431) << flood.text.substr(0, 400);
  ExpectServed();
  EXPECT_FALSE(serve_->proc().Wait(0ms).has_value()) << serve_->Output();
}

INSTANTIATE_TEST_SUITE_P(SecurityMatrix, HttpSurface, ::testing::Values(kToolServer, kGateway, kControlApi),
                         [](const ::testing::TestParamInfo<Surface>& info) { return info.param.name; });

// ---- The rest of the matrix: config, listeners, processes, files, the CLI -----------------------------------
class SecurityMatrix : public ::testing::Test {
 protected:
  // A config whose one model `m` is the stand-in engine (llmdesk-fake-engine), started with the stack.
  std::string EngineConfig(const std::string& gateway_extra = "", const std::string& model_extra = "") {
    const int base = FreePortRange(4);
    const auto model = dir_.Write("m.gguf", "stand-in: the fake engine does not read it\n");
    return "engine:\n  llama_server: " + BinPath("llmdesk-fake-engine").string() + "\ngateway: {port: " + std::to_string(base) +
           gateway_extra + "}\ntool_server: {port: " + std::to_string(base + 1) + "}\nports: {range: " +
           std::to_string(base + 2) + "-" + std::to_string(base + 3) + "}\nmodels:\n  m:\n    model: " + model.string() +
           "\n    port: " + std::to_string(base + 2) + "\n    autostart: true\n" + model_extra;
  }
  // Starts serve and waits for the model `m` (and any other `ready` names) to be ready.
  std::unique_ptr<ServeProcess> ServeReady(const TempDir& dir, const std::string& yaml, const std::vector<std::string>& names = {"m"}) {
    auto serve = std::make_unique<ServeProcess>(dir, yaml);
    EXPECT_TRUE(serve->WaitUp()) << serve->Output();
    for (const auto& name : names) EXPECT_TRUE(serve->proc().WaitFor(name + " +starting -> ready")) << serve->Output();
    return serve;
  }

  TempDir dir_;
};

// (e) A listener beyond loopback without a token is a config error, named at file:line:col; with a token it is fine.
TEST_F(SecurityMatrix, NonLoopbackHostWithoutATokenIsRefusedByConfigCheck) {
  for (const std::string section : {"gateway", "tool_server"}) {
    for (const std::string host : {"0.0.0.0", "::", "0", "192.168.1.5", "localhost.evil.example", "::ffff:127.0.0.1"}) {
      const auto file = dir_.Write("bad.yaml", section + ":\n  host: \"" + host + "\"\n");
      auto r = RunCommand({BinPath("llmdesk").string(), "config", "check", file.string()});
      EXPECT_EQ(r.exit_code, 2) << section << ".host " << host << ": " << r.out << r.err;
      EXPECT_THAT(r.err, HasSubstr(file.string() + ":2:9: error: " + section + ".host: '" + host +
                                   "' is not a loopback address and no token is set"));
      const auto with_token = dir_.Write("ok.yaml", section + ":\n  host: \"" + host + "\"\n  token: t0ken\n");
      auto ok = RunCommand({BinPath("llmdesk").string(), "config", "check", with_token.string()});
      EXPECT_EQ(ok.exit_code, 0) << section << ".host " << host << " with a token: " << ok.out << ok.err;
    }
  }
  // `serve` with such a config starts nothing (exit 2), and `tool-server --host` refuses the same way.
  const int port = FreePortRange(1);
  const auto bad = dir_.Write("serve.yaml", "gateway: {host: 0.0.0.0, port: " + std::to_string(port) + "}\n");
  auto serve = RunCommand({BinPath("llmdesk").string(), "--config", bad.string(), "serve"}, 30s);
  EXPECT_EQ(serve.exit_code, 2) << serve.out << serve.err;
  auto tools = RunCommand({BinPath("llmdesk").string(), "--config", dir_.Write("empty.yaml", "").string(), "tool-server",
                           "--host", "0.0.0.0", "--port", std::to_string(port)}, 30s);
  EXPECT_NE(tools.exit_code, 0) << tools.out << tools.err;
  EXPECT_THAT(tools.err, HasSubstr("is not a loopback address and no token is set"));
}

// (e) Every listening socket of the stack — the control API + gateway, the tool server, the engines it spawned —
// and of `llmdesk tool-server` is on 127.0.0.1 or ::1 when the config names no host.
TEST_F(SecurityMatrix, NothingListensBeyondLoopbackByDefault) {
  auto serve = ServeReady(dir_, EngineConfig());
  auto listeners = ListenersOfTree(serve->pid());
  std::set<int> ports;
  for (const auto& l : listeners) {
    ports.insert(l.port);
    EXPECT_TRUE(IsLoopbackText(l.address)) << "the stack listens on " << l.address << ":" << l.port;
  }
  EXPECT_TRUE(ports.count(serve->api_port()) && ports.count(serve->tool_port()) && ports.size() >= 3)
      << "expected the control API, the tool server and the engine among " << ports.size() << " listeners";

  TempDir tool_dir;
  int tool_port = 0;
  Spawned tool_server = StartToolServer(tool_dir, tool_port);
  auto tool_listeners = ListenersOfTree(tool_server.pid());
  ASSERT_FALSE(tool_listeners.empty());
  for (const auto& l : tool_listeners) EXPECT_TRUE(IsLoopbackText(l.address)) << l.address << ":" << l.port;

  // The check can fail: a stack told to bind 0.0.0.0 (with a token) shows up as such.
  TempDir wide_dir;
  auto wide = std::make_unique<ServeProcess>(wide_dir, EngineConfig(", host: 0.0.0.0, token: t0ken"));
  ASSERT_TRUE(wide->WaitUp()) << wide->Output();
  bool saw_wildcard = false;
  for (const auto& l : ListenersOfTree(wide->pid())) saw_wildcard |= l.address == "0.0.0.0" && l.port == wide->api_port();
  EXPECT_TRUE(saw_wildcard) << "the listener check does not see a 0.0.0.0 bind";
}

// (f) `command:` and `args:` reach the program as argv entries, byte for byte: no shell ever sees them.
TEST_F(SecurityMatrix, ConfigCommandAndArgsNeverReachAShell) {
  const std::string d = dir_.path().string();
  // Substitutions first: a shell expands them before it even runs the (long-running) program in front of them.
  const std::vector<std::string> hostile = {"$(touch " + d + "/pwned2)", "`touch " + d + "/pwned3`", "; touch " + d + "/pwned",
                                            "| touch " + d + "/pwned4", "&& touch " + d + "/pwned5", "'a b' \"c\" \\ * ?",
                                            "\n touch " + d + "/pwned6"};
  auto yaml_list = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + nlohmann::json(item).dump();  // JSON strings are YAML
    return "[" + out + "]";
  };
  const std::string fake = BinPath("llmdesk-fake-engine").string();
  std::vector<std::string> args = {"--record-argv", d + "/args.argv"};
  args.insert(args.end(), hostile.begin(), hostile.end());
  std::vector<std::string> command = {fake, "--host", "127.0.0.1", "--port", "${PORT}", "--record-argv", d + "/command.argv"};
  command.insert(command.end(), hostile.begin(), hostile.end());
  std::vector<std::string> mcp_args = {"--record-argv", d + "/mcp.argv", "--exit-code", "3"};
  mcp_args.insert(mcp_args.end(), hostile.begin(), hostile.end());
  const int cmd_port = FreePortRange(1);
  const std::string extra = "    args: " + yaml_list(args) + "\n  viacommand:\n    command: " + yaml_list(command) +
                            "\n    port: " + std::to_string(cmd_port) + "\n    autostart: true\n" +
                            "mcp_servers:\n  recorder: {command: " + nlohmann::json(fake).dump() + ", args: " + yaml_list(mcp_args) + "}\n";
  auto serve = ServeReady(dir_, EngineConfig("", extra), {"m", "viacommand"});
  ASSERT_TRUE(serve->proc().WaitFor("MCP server 'recorder' skipped")) << serve->Output();

  auto entries = [](const fs::path& file) {
    std::vector<std::string> out;
    std::string text = ReadFileBytes(file), entry;
    for (char c : text) c ? entry.push_back(c) : (out.push_back(entry), entry.clear());
    return out;
  };
  auto contains_in_order = [](const std::vector<std::string>& argv, const std::vector<std::string>& want) {
    auto at = std::search(argv.begin(), argv.end(), want.begin(), want.end());
    return at != argv.end();
  };
  for (const char* name : {"args.argv", "command.argv", "mcp.argv"}) {
    auto argv = entries(dir_.path() / name);
    ASSERT_FALSE(argv.empty()) << name << " was not written: " << serve->Output();
    EXPECT_EQ(argv[0], fake) << name;
    EXPECT_TRUE(contains_in_order(argv, hostile)) << name << ": the hostile entries did not arrive one argv entry each, verbatim";
  }
  for (const char* pwned : {"pwned", "pwned2", "pwned3", "pwned4", "pwned5", "pwned6"})
    EXPECT_FALSE(fs::exists(dir_.path() / pwned)) << pwned << " was created: a shell ran a config value";
}

// (g) What llmdesk writes — the lock and state file, the engine's log, the history database — is 0600, in
// directories it created 0700 (the XDG base directories it had to create included, as the XDG spec asks).
TEST_F(SecurityMatrix, StateLogAndDatabaseFilesAre0600In0700Directories) {
  auto serve = ServeReady(dir_, EngineConfig());
  size_t files = 0;
  std::set<std::string> kinds;
  for (const char* root : {"run/llmdesk", "state", "data"}) {
    const fs::path top = dir_.path() / root;
    struct stat st {};
    ASSERT_EQ(lstat(top.c_str(), &st), 0) << top << " was not created";
    EXPECT_EQ(st.st_mode & 07777, 0700u) << top;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      ASSERT_EQ(lstat(it->path().c_str(), &st), 0);
      EXPECT_EQ(st.st_uid, geteuid()) << it->path();
      if (S_ISDIR(st.st_mode)) {
        EXPECT_EQ(st.st_mode & 07777, 0700u) << it->path();
      } else {
        EXPECT_TRUE(S_ISREG(st.st_mode)) << it->path() << " is not a regular file";
        EXPECT_EQ(st.st_mode & 07777, 0600u) << it->path();
        ++files;
        const std::string name = it->path().filename().string();
        for (const char* kind : {".lock", ".state.json", ".log", "history.db"})
          if (name.size() >= std::strlen(kind) && name.compare(name.size() - std::strlen(kind), std::string::npos, kind) == 0)
            kinds.insert(kind);
      }
    }
  }
  EXPECT_EQ(kinds.size(), 4u) << "expected a lock, a state file, a log and the history database among " << files << " files";
}

// The paths a first run of `serve` created (lock, state file, m's log, history db).
struct StackFiles {
  fs::path lock, state, log, db;
};
StackFiles FindStackFiles(const fs::path& root) {
  StackFiles f;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(".lock")) f.lock = it->path();
    if (name.ends_with(".state.json")) f.state = it->path();
    if (name == "m.log") f.log = it->path();
    if (name == "history.db") f.db = it->path();
  }
  return f;
}

void PlantSymlink(const fs::path& at, const fs::path& target) {
  std::error_code ec;
  fs::remove(at, ec);
  fs::create_symlink(target, at);
}

// (g) Symlinks planted where the state file, the log and the database go: the targets outside stay untouched;
// the state file is replaced (rename), the log and the database are refused with a clear message.
TEST_F(SecurityMatrix, PlantedSymlinksAtStateLogAndDatabaseFilesAreNeverFollowed) {
  const std::string yaml = EngineConfig();
  {
    auto first = ServeReady(dir_, yaml);
    ASSERT_EQ(first->Stop(), 0) << first->Output();
  }
  const StackFiles files = FindStackFiles(dir_.path());
  ASSERT_FALSE(files.state.empty() || files.log.empty() || files.db.empty()) << "the first run left no state file, log or db";
  TempDir outside;
  const auto victim_state = outside.Write("victim-state", "precious state\n");
  const auto victim_log = outside.Write("victim-log", "precious log\n");
  const auto victim_db = outside.Write("victim-db", "precious db\n");
  const auto victim_wal = outside.Write("victim-wal", "precious wal\n");
  PlantSymlink(files.state, victim_state);
  PlantSymlink(files.log, victim_log);
  PlantSymlink(files.db, victim_db);
  PlantSymlink(files.db.string() + "-wal", victim_wal);

  auto serve = ServeReady(dir_, yaml);
  EXPECT_TRUE(serve->proc().WaitFor("chat history is off: .*" + files.db.filename().string() + ".*symlink")) << serve->Output();
  auto logs = RawExchange(serve->api_port(), HttpText("GET", "/api/backends/m/logs?lines=200", "127.0.0.1", {}));
  EXPECT_THAT(logs.text, HasSubstr("not written")) << "the ring should say why the log file is not written";
  EXPECT_EQ(serve->Stop(), 0) << serve->Output();

  EXPECT_EQ(ReadFileBytes(victim_state), "precious state\n");
  EXPECT_EQ(ReadFileBytes(victim_log), "precious log\n");
  EXPECT_EQ(ReadFileBytes(victim_db), "precious db\n");
  EXPECT_EQ(ReadFileBytes(victim_wal), "precious wal\n");
  EXPECT_FALSE(fs::is_symlink(files.state)) << "the state file is replaced by a regular file (rename)";

  // The database itself regular again, only its WAL and shared-memory files planted: refused, saying which.
  std::error_code ec;
  fs::remove(files.db, ec);
  const auto victim_shm = outside.Write("victim-shm", "precious shm\n");
  PlantSymlink(files.db.string() + "-shm", victim_shm);
  {
    auto again = ServeReady(dir_, yaml);
    EXPECT_TRUE(again->proc().WaitFor("chat history is off: .*history\\.db-(wal|shm) is a symbolic link")) << again->Output();
    EXPECT_EQ(again->Stop(), 0) << again->Output();
  }
  EXPECT_EQ(ReadFileBytes(victim_wal), "precious wal\n");
  EXPECT_EQ(ReadFileBytes(victim_shm), "precious shm\n");
}

// (g) The lock file decides which stack owns the config: one planted as a symlink is refused, naming it.
TEST_F(SecurityMatrix, APlantedSymlinkAtTheLockFileIsRefused) {
  const std::string yaml = EngineConfig();
  {
    auto first = ServeReady(dir_, yaml);
    ASSERT_EQ(first->Stop(), 0) << first->Output();
  }
  const StackFiles files = FindStackFiles(dir_.path());
  ASSERT_FALSE(files.lock.empty());
  TempDir outside;
  const auto victim = outside.Write("victim-lock", "precious\n");
  PlantSymlink(files.lock, victim);
  ServeProcess serve(dir_, yaml);
  auto code = serve.proc().Wait(30s);
  ASSERT_TRUE(code.has_value()) << "serve ran on a planted lock file: " << serve.Output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(serve.Output(), HasSubstr("symbolic link"));
  EXPECT_EQ(ReadFileBytes(victim), "precious\n");
}

// (h) A program that is not llmdesk holds the control port and answers like llmdesk: no CLI command sends it the
// gateway token (the CLI checks /proc who holds the port first: control::VerifyLlmdeskListener).
TEST_F(SecurityMatrix, TheCliNeverSendsItsTokenToAPortHeldByAnotherProgram) {
  const int port = FreePortRange(2);
  const std::string token = "tok-never-send-me-9f3b";
  PlainListener impostor(port);
  ASSERT_TRUE(impostor.listening());
  const auto model = dir_.Write("m.gguf", "x");
  const auto config = dir_.Write("llm_backends.yaml", "gateway: {port: " + std::to_string(port) + ", token: " + token +
                                                          "}\ntool_server: {port: " + std::to_string(port + 1) +
                                                          "}\nmodels:\n  m: {model: " + model.string() + "}\n");
  const std::vector<std::vector<std::string>> commands = {
      {"status"}, {"status", "--json"}, {"start", "m"}, {"stop", "m"}, {"restart", "m"}, {"logs", "m"},
      {"logs", "m", "-f"}, {"config", "reload"}, {"mcp", "list"}, {"chat", "--model", "m", "hello"}};
  std::string outputs;
  for (const auto& args : commands) {
    std::vector<std::string> argv = {BinPath("llmdesk").string(), "--config", config.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv, 30s);
    outputs += "$ llmdesk " + args[0] + (args.size() > 1 ? " " + args[1] : "") + " -> " + std::to_string(r.exit_code) + "\n" + r.out + r.err;
  }
  const std::string got = impostor.Received();
  std::string lower = got;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_GE(impostor.requests(), 1) << "the CLI never even asked the impostor: " << outputs;
  EXPECT_EQ(got.find(token), std::string::npos) << "the token reached a program that is not llmdesk:\n" << got;
  EXPECT_EQ(lower.find("authorization"), std::string::npos) << got;
  EXPECT_THAT(outputs, HasSubstr("which is not llmdesk; the gateway token is not sent to it"));
}

}  // namespace
}  // namespace llmdesk::test
