#include "daemon/pair_records.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>

namespace tether::daemon {
namespace {

std::vector<std::byte> bytes(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

class PairRecords : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("tether-pair-" + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void TearDown() override { std::filesystem::remove_all(dir); }
  const std::string record =
      "<plist version=\"1.0\"><dict><key>HostID</key><string>X</string></dict></plist>";
};

TEST_F(PairRecords, IdsAreUdidsAndNothingElse) {
  EXPECT_TRUE(pair_records::valid_id("00008120-7E7E000000000000"));
  EXPECT_TRUE(pair_records::valid_id(std::string(40, 'a')));
  for (const char* bad : {"", "../etc/passwd", "a/b", "..", "x.plist", "a b", "ü"})
    EXPECT_FALSE(pair_records::valid_id(bad)) << bad;
  EXPECT_FALSE(pair_records::valid_id(std::string(65, 'a')));
}

TEST_F(PairRecords, SaveReadDeleteRoundTripWithPrivateMode) {
  pair_records store(dir);
  ASSERT_EQ(store.save("00008120-7E7E000000000000", bytes(record)), 0);
  const auto file = dir / "00008120-7E7E000000000000.plist";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // it holds private keys
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  auto read = store.read("00008120-7E7E000000000000");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::byte>>(read));
  const auto& data = std::get<std::vector<std::byte>>(read);
  const std::string text(reinterpret_cast<const char*>(data.data()), data.size());
  EXPECT_NE(text.find("<key>HostID</key>"), std::string::npos);
  EXPECT_EQ(store.remove("00008120-7E7E000000000000"), 0);
  EXPECT_EQ(std::get<int>(store.read("00008120-7E7E000000000000")), ENOENT);
  EXPECT_EQ(store.remove("00008120-7E7E000000000000"), ENOENT);
}

TEST_F(PairRecords, RefusesTraversalAndNonDictionaries) {
  pair_records store(dir);
  EXPECT_EQ(store.save("../escape", bytes(record)), EINVAL);
  EXPECT_FALSE(std::filesystem::exists(dir.parent_path() / "escape.plist"));
  EXPECT_EQ(std::get<int>(store.read("../../etc/passwd")), ENOENT);
  EXPECT_EQ(store.save("abc", bytes("<plist><string>not a dict</string></plist>")), EINVAL);
  EXPECT_EQ(store.save("abc", bytes("garbage!")), EINVAL);
}

TEST_F(PairRecords, ARecordTooLargeForOneMessageIsRefusedNotRead) {
  pair_records store(dir);
  ASSERT_EQ(store.save("abc", bytes(record)), 0);  // makes the folder
  {
    std::ofstream big(dir / "big.plist", std::ios::binary);
    big << std::string(64 * 1024 + 1, 'x');
  }
  EXPECT_EQ(std::get<int>(store.read("big")), EFBIG);
  ASSERT_TRUE(std::holds_alternative<std::vector<std::byte>>(store.read("abc")));
}

TEST_F(PairRecords, SystemBuidIsAUuidAndStaysTheSame) {
  const auto made = pair_records(dir).system_buid();
  ASSERT_TRUE(made) << made.describe();
  const std::string first = *made;
  ASSERT_EQ(first.size(), 36u);
  EXPECT_EQ(first[8], '-');
  EXPECT_EQ(first[14], '4');                           // version 4: random
  EXPECT_EQ(*pair_records(dir).system_buid(), first);  // kept across restarts
}

}  // namespace
}  // namespace tether::daemon
