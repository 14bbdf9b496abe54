// `llmdesk pull` and models::Pull against the hub stand-in (tests/support/hub_standin.h), serving a model
// made by llmdesk-testmodel (issue 11, acceptance 1 and 2): fresh download, resume after a dropped
// connection, checksum mismatch, 404, 401 with and without a token, network failure, disk full.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "models/library.h"
#include "models/pull.h"
#include "integration/cli_manager_helpers.h"
#include "support/hub_standin.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kRepo = "tester/Tiny-Model-GGUF";
constexpr const char* kFile = "tiny-model-Q4_K_M.gguf";

class ModelsPull : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = new TempDir();
    auto out = model_dir_->path() / "m.gguf";
    auto r = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", out.string()}, 120s);
    ASSERT_EQ(r.exit_code, 0) << "llmdesk-testmodel could not make a model (run scripts/setup): " << r.err;
    model_ = new std::string(ReadFileBytes(out));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete model_dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(model_ && model_->size() > 1000000);
    hub_.AddFile(kRepo, kFile, *model_);
    hub_.AddFile(kRepo, "tiny-model-Q8_0.gguf", "not used");
  }

  // The environment a user would have: only HOME/XDG dirs inside the temp dir.
  config::GetEnv Env() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      if (name == "HOME") return home_.path().string();
      if (name == "XDG_DATA_HOME") return (home_.path() / "data").string();
      return std::nullopt;
    };
  }
  models::PullOptions Options(int attempts = 3) const {
    models::PullOptions o;
    o.endpoint = hub_.url();
    o.library = models::LibraryDir(Env());
    o.attempts = attempts;
    o.idle_timeout = 10s;
    return o;
  }
  static models::ModelRef Ref(const std::string& text) {
    auto r = models::ParseModelRef(text);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : models::ModelRef{};
  }
  fs::path Final() const { return models::LibraryDir(Env()) / kRepo / kFile; }
  std::vector<fs::path> PartFiles() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Final().parent_path(), ec))
      if (e.path().extension() == ".part") out.push_back(e.path());
    return out;
  }
  CommandResult Cli(std::vector<std::string> args, std::vector<std::string> prefix = {}) const {
    return RunCommand(CliArgv(std::move(args), std::move(prefix)), 120s);
  }
  // The argv of `llmdesk ARGS` against the stand-in, in this test's HOME.
  std::vector<std::string> CliArgv(std::vector<std::string> args, std::vector<std::string> prefix = {}) const {
    std::vector<std::string> argv = {"env", "HOME=" + home_.path().string(),
                                     "XDG_DATA_HOME=" + (home_.path() / "data").string(), "HF_ENDPOINT=" + hub_.url(),
                                     "HF_TOKEN=", "HUGGING_FACE_HUB_TOKEN=", "HF_HOME=", "HF_HUB_CACHE=",
                                     "LLMDESK_CONFIG=" + (home_.path() / "none.yaml").string()};
    // Prefixes (prlimit) run after env; LLMDESK_CONFIG points at an empty file written below.
    home_.Write("none.yaml", "");
    argv.insert(argv.end(), prefix.begin(), prefix.end());
    argv.push_back(BinPath("llmdesk").string());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  static TempDir* model_dir_;
  static std::string* model_;
  TempDir home_;
  HubStandin hub_;
};
TempDir* ModelsPull::model_dir_ = nullptr;
std::string* ModelsPull::model_ = nullptr;

TEST_F(ModelsPull, FreshDownloadIsVerifiedRenamedAndListed) {
  std::vector<models::PullProgress> progress;
  auto o = Options();
  o.progress_interval = 0ms;
  o.on_progress = [&](const models::PullProgress& p) { progress.push_back(p); };
  auto r = models::Pull(Ref(std::string(kRepo) + ":q4_k_m"), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->verified);
  EXPECT_FALSE(r->already_present);
  EXPECT_EQ(r->path, Final());
  EXPECT_EQ(r->sha256, HubStandin::Sha256Hex(*model_));
  EXPECT_EQ(r->bytes_transferred, model_->size());
  EXPECT_EQ(ReadFileBytes(Final()), *model_);
  EXPECT_TRUE(PartFiles().empty());
  // Typed progress: resolving, downloading with growing byte counts and a rate, verifying, done.
  ASSERT_GE(progress.size(), 4u);
  EXPECT_EQ(progress.front().stage, models::PullProgress::Stage::kResolving);
  EXPECT_EQ(progress.back().stage, models::PullProgress::Stage::kDone);
  EXPECT_EQ(progress.back().done, model_->size());
  EXPECT_EQ(progress.back().total, model_->size());
  bool rate_seen = false;
  for (const auto& p : progress) rate_seen |= p.stage == models::PullProgress::Stage::kDownloading && p.bytes_per_second > 0;
  EXPECT_TRUE(rate_seen);

  auto listed = models::ListLocalModels(Env());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, std::string(kRepo) + "/" + kFile);
  EXPECT_EQ(listed[0].source, "library");
  // hf: resolution finds it locally: nothing to download again.
  EXPECT_EQ(models::FindLocalHfModel(kRepo, "Q4_K_M", Env()), Final());
  auto again = models::Pull(Ref(kRepo), Options());  // no quant: Q4_K_M is the default
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->already_present);
  EXPECT_EQ(again->bytes_transferred, 0u);
}

TEST_F(ModelsPull, DroppedConnectionResumesWithRangeOnTheNextPull) {
  const uint64_t half = model_->size() / 2;
  hub_.DropDownloads(half, 1);
  auto first = models::Pull(Ref(std::string(kRepo) + ":Q4_K_M"), Options(/*attempts=*/1));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), Status::Code::kUnavailable) << first.status().message();
  EXPECT_NE(first.status().message().find("resumes"), std::string::npos) << first.status().message();
  EXPECT_FALSE(fs::exists(Final()));
  auto parts = PartFiles();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(fs::file_size(parts[0]), half);

  auto second = models::Pull(Ref(std::string(kRepo) + ":Q4_K_M"), Options(1));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_LT(second->bytes_transferred, model_->size());
  EXPECT_EQ(second->bytes_transferred, model_->size() - half);
  EXPECT_EQ(second->resumed_from, half);
  EXPECT_TRUE(second->verified);
  EXPECT_EQ(ReadFileBytes(Final()), *model_);
  EXPECT_TRUE(PartFiles().empty());
  auto ranges = hub_.range_headers();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=" + std::to_string(half) + "-");
}

TEST_F(ModelsPull, CliResumesWithinOneRunAndNeverFetchesAByteTwice) {
  hub_.DropDownloads(model_->size() / 3, 1);
  auto r = Cli({"pull", "--json", std::string(kRepo) + ":Q4_K_M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.value("verified", false), true);
  EXPECT_EQ(j.value("bytes_transferred", 0ull), model_->size());
  EXPECT_EQ(hub_.body_bytes_served(), model_->size());
  EXPECT_EQ(ReadFileBytes(Final()), *model_);
  // Piped stderr: lines, not a bar.
  EXPECT_NE(r.err.find("downloading " + std::string(kFile)), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);

  auto listed = Cli({"models", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto models = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(models.is_array()) << listed.out;
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].value("name", ""), std::string(kRepo) + "/" + kFile);
  EXPECT_EQ(models[0].value("architecture", ""), "llama");

  auto rm = Cli({"models", "rm", std::string(kRepo) + ":Q4_K_M"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(fs::exists(Final()));
  EXPECT_FALSE(fs::exists(Final().parent_path()));  // no empty owner/repo folder left
}

// SIGTERM (what systemd and Ctrl+C's cousins send) while `llmdesk pull` downloads: it stops at once with a
// clear message, keeps the bytes it received as the .part file, puts nothing under the final name, and the
// next pull fetches only the rest.
TEST_F(ModelsPull, SigtermMidDownloadStopsAtOnceAndTheNextPullResumes) {
  const uint64_t third = model_->size() / 3;
  hub_.StallDownloads(third);
  Proc pull(CliArgv({"pull", std::string(kRepo) + ":Q4_K_M"}));
  ASSERT_TRUE(hub_.WaitForStall(60s)) << pull.Output();
  pull.Signal(SIGTERM);
  auto code = pull.Wait(5s);
  ASSERT_TRUE(code.has_value()) << "llmdesk pull outlived SIGTERM by 5 s";
  EXPECT_NE(*code, 0);
  EXPECT_NE(pull.Output().find("the next pull resumes from there"), std::string::npos) << pull.Output();
  EXPECT_FALSE(fs::exists(Final()));
  auto parts = PartFiles();
  ASSERT_EQ(parts.size(), 1u);
  // What reached the client before the signal (the rest of the `third` sent may still sit in socket buffers).
  const uint64_t kept = fs::file_size(parts[0]);
  EXPECT_GT(kept, 0u);
  EXPECT_LE(kept, third);

  hub_.ReleaseStall();
  auto again = Cli({"pull", "--json", std::string(kRepo) + ":Q4_K_M"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto j = json::parse(again.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << again.out;
  EXPECT_EQ(j.value("resumed_from", 0ull), kept);
  EXPECT_EQ(j.value("bytes_transferred", 0ull), model_->size() - kept);
  EXPECT_EQ(ReadFileBytes(Final()), *model_);
  EXPECT_TRUE(PartFiles().empty());
}

TEST_F(ModelsPull, ChecksumMismatchLeavesNothingUnderTheFinalName) {
  hub_.AddFile(kRepo, kFile, *model_, std::string(64, 'a'));
  auto r = models::Pull(Ref(std::string(kRepo) + ":Q4_K_M"), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(Final()));
  EXPECT_TRUE(PartFiles().empty());
  EXPECT_TRUE(models::ListLocalModels(Env()).empty());

  auto cli = Cli({"pull", std::string(kRepo) + ":Q4_K_M"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.err.find("checksum mismatch"), std::string::npos) << cli.err;
  auto listed = Cli({"models", "--json"});
  EXPECT_EQ(json::parse(listed.out, nullptr, false), json::array()) << listed.out;
}

TEST_F(ModelsPull, MissingRepoOrQuantIsNotFoundNamingWhatExists) {
  auto repo = models::Pull(Ref("tester/No-Such-GGUF:Q4_K_M"), Options());
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), Status::Code::kNotFound) << repo.status().message();
  EXPECT_NE(repo.status().message().find("404"), std::string::npos) << repo.status().message();

  auto quant = models::Pull(Ref(std::string(kRepo) + ":Q2_K"), Options());
  ASSERT_FALSE(quant.ok());
  EXPECT_EQ(quant.status().code(), Status::Code::kNotFound);
  EXPECT_NE(quant.status().message().find("Q4_K_M, Q8_0"), std::string::npos) << quant.status().message();

  auto file = models::Pull(Ref(hub_.url() + "/" + kRepo + "/resolve/main/gone.gguf"), Options());
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kNotFound) << file.status().message();
}

TEST_F(ModelsPull, UnauthorisedWithoutAndWithAWrongToken) {
  hub_.RequireToken(kRepo, "hf_right");
  auto none = models::Pull(Ref(kRepo), Options());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(none.status().message().find("set HF_TOKEN"), std::string::npos) << none.status().message();

  auto o = Options();
  o.token = "hf_wrong";
  auto wrong = models::Pull(Ref(kRepo), o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("refused the token"), std::string::npos) << wrong.status().message();

  auto cli = Cli({"pull", kRepo});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.err.find("401"), std::string::npos) << cli.err;

  o.token = "hf_right";
  auto right = models::Pull(Ref(kRepo), o);
  ASSERT_TRUE(right.ok()) << right.status().message();
  EXPECT_TRUE(right->verified);
  EXPECT_EQ(hub_.listing_auth().back(), "Bearer hf_right");
}

TEST_F(ModelsPull, UrlPullVerifiesAgainstXLinkedEtag) {
  auto r = models::Pull(Ref(hub_.url() + "/" + kRepo + "/resolve/main/" + kFile), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->verified);
  EXPECT_EQ(r->path, Final());  // the same place `pull owner/repo:QUANT` uses

  hub_.AddFile("tester/Other-GGUF", "bad.gguf", "GGUF not really", std::string(64, 'b'));
  auto bad = models::Pull(Ref(hub_.url() + "/tester/Other-GGUF/resolve/main/bad.gguf"), Options());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("checksum mismatch"), std::string::npos) << bad.status().message();
}

TEST_F(ModelsPull, NetworkFailureIsUnavailable) {
  auto o = Options();
  o.endpoint = "http://127.0.0.1:" + std::to_string(PickUnusedPort());
  auto r = models::Pull(Ref(kRepo), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("network failure"), std::string::npos) << r.status().message();
}

TEST_F(ModelsPull, DiskFullKeepsThePartAndSaysSo) {
  // RLIMIT_FSIZE in the child (prlimit): writes past 4 MB fail with EFBIG, as on a full disk.
  auto r = Cli({"pull", std::string(kRepo) + ":Q4_K_M"}, {"prlimit", "--fsize=4000000"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("disk full"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Final()));
  auto parts = PartFiles();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_LE(fs::file_size(parts[0]), 4000000u);
  // With the limit gone the next pull resumes and completes.
  auto again = Cli({"pull", "--json", std::string(kRepo) + ":Q4_K_M"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto j = json::parse(again.out, nullptr, false);
  EXPECT_GT(j.value("resumed_from", 0ull), 0u) << again.out;
  EXPECT_EQ(ReadFileBytes(Final()), *model_);
}

TEST(ModelsRefs, ParseAndEndpoint) {
  EXPECT_FALSE(models::ParseModelRef("no-slash").ok());
  EXPECT_FALSE(models::ParseModelRef("a/b:Q4 K").ok());
  EXPECT_FALSE(models::ParseModelRef("../x").ok());
  auto r = models::ParseModelRef("Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repo, "Qwen/Qwen2.5-1.5B-Instruct-GGUF");
  EXPECT_EQ(r->quant, "Q4_K_M");
  config::Config c;
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "HF_ENDPOINT") return "http://mirror.example/";
    return std::nullopt;
  };
  EXPECT_EQ(models::HubEndpoint(c, env), "http://mirror.example");
  c.hub.url = "http://config.example";
  EXPECT_EQ(models::HubEndpoint(c, env), "http://config.example");
  EXPECT_EQ(models::HubEndpoint(config::Config{}, [](const std::string&) { return std::optional<std::string>(); }),
            "https://huggingface.co");
}

}  // namespace
}  // namespace llmdesk::test
