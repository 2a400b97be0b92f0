#include "daemon/saved_forwards.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tether::daemon {
namespace {

namespace fs = std::filesystem;

class SavedForwards : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tether-saved-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path root_;
};

proto::tetherd::forward_spec spec(std::string name, std::uint16_t local, std::uint16_t phone) {
  return {.name = std::move(name),
          .bind_address = "127.0.0.1",
          .local_port = local,
          .phone_port = phone,
          .udid = ""};
}

TEST_F(SavedForwards, MissingFileIsNoForwards) {
  const saved_forwards s((root_ / "state").string());
  std::string problem;
  const auto prepared = s.prepare();
  ASSERT_TRUE(prepared) << prepared.describe();
  EXPECT_TRUE(fs::is_directory(root_ / "state"));
  EXPECT_TRUE(s.load(problem).forwards.empty());
  EXPECT_EQ(problem, "");
}

TEST_F(SavedForwards, SavedAreLoadedBackAndTheFileIsReplacedWhole) {
  const saved_forwards s(root_.string());
  std::string problem;
  const proto::tetherd::reverse_spec chat{.name = "chat",
                                          .phone_port = 12345,
                                          .local_address = "::1",
                                          .local_port = 12346,
                                          .udid = "",
                                          .spares = 3};
  const auto saved = s.save({{spec("9345", 9345, 2345), spec("cam", 40123, 2351)}, {chat}});
  ASSERT_TRUE(saved) << saved.describe();
  auto all = s.load(problem);
  EXPECT_EQ(problem, "");
  auto& back = all.forwards;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].name, "9345");
  EXPECT_EQ(back[1].local_port, 40123);
  EXPECT_EQ(back[1].phone_port, 2351);
  ASSERT_EQ(all.reverses.size(), 1u);
  EXPECT_EQ(all.reverses[0].name, "chat");
  EXPECT_EQ(all.reverses[0].phone_port, 12345);
  EXPECT_EQ(all.reverses[0].local_address, "::1");
  EXPECT_EQ(all.reverses[0].local_port, 12346);
  EXPECT_EQ(all.reverses[0].spares, 3u);

  ASSERT_TRUE(s.save({{spec("cam", 40123, 2351)}, {}}));
  all = s.load(problem);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(all.reverses.empty());
  EXPECT_EQ(back[0].name, "cam");
  EXPECT_FALSE(fs::exists(root_ / "forwards.tmp"));  // nothing left beside it
  EXPECT_EQ(fs::status(root_ / "forwards").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  EXPECT_NE(slurp(root_ / "forwards").find("tether forward add"), std::string::npos);
}

// A file tetherd cannot read back is kept for the user (forwards.bad), not overwritten
// by the next save.
TEST_F(SavedForwards, AnUnreadableFileIsMovedAsideAndSaid) {
  { std::ofstream(root_ / "forwards") << "[forward ssh]\nphone-port = 99999\n"; }
  const saved_forwards s(root_.string());
  std::string problem;
  EXPECT_TRUE(s.load(problem).forwards.empty());
  EXPECT_NE(problem.find("cannot be read (line 2: [forward ssh]: phone-port must be 1-65535"),
            std::string::npos)
      << problem;
  EXPECT_NE(problem.find("moved to " + (root_ / "forwards.bad").string()), std::string::npos);
  EXPECT_EQ(slurp(root_ / "forwards.bad"), "[forward ssh]\nphone-port = 99999\n");
  EXPECT_FALSE(fs::exists(root_ / "forwards"));
}

TEST_F(SavedForwards, AFailedSaveSaysWhatIsLost) {
  const saved_forwards s((root_ / "missing" / "dir").string());
  const auto saved = s.save({{spec("9345", 9345, 2345)}, {}});
  EXPECT_FALSE(saved);
  EXPECT_EQ(saved.error(), std::errc::no_such_file_or_directory);
  EXPECT_NE(saved.detail().find("cannot save the forwards in " +
                                (root_ / "missing/dir/forwards").string() +
                                ": No such file or directory; they last until tetherd stops"),
            std::string::npos)
      << saved.detail();
}

TEST_F(SavedForwards, NoneSavesNothing) {
  const saved_forwards s("");
  std::string problem;
  EXPECT_FALSE(s.enabled());
  EXPECT_TRUE(s.prepare());
  EXPECT_TRUE(s.save({{spec("9345", 9345, 2345)}, {}}));
  EXPECT_TRUE(s.load(problem).forwards.empty());
}

}  // namespace
}  // namespace tether::daemon
