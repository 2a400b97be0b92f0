#include "tools/gadget/configfs_plan.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/gadget/in_transfers.hpp"

namespace tether::gadget {
namespace {

namespace fs = std::filesystem;
using kind = configfs_step::kind;

std::vector<configfs_step> plan() {
  return gadget_plan("g1", sim::iphone_identity{}, iphone_functions());
}

std::ptrdiff_t index_of(const std::vector<configfs_step>& p, const std::string& path) {
  const auto it = std::find_if(p.begin(), p.end(), [&](const auto& s) { return s.path == path; });
  return it == p.end() ? -1 : it - p.begin();
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

class ConfigfsOnADirectory : public ::testing::Test {
 protected:
  ConfigfsOnADirectory() {
    char name[] = "/tmp/tether-gadget-test.XXXXXX";
    root = ::mkdtemp(name);
  }
  ~ConfigfsOnADirectory() override { fs::remove_all(root); }
  fs::path root;
};

TEST(ConfigfsPlan, IdentityAndStrings) {
  const auto p = plan();
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p[0].what, kind::mkdir);
  EXPECT_EQ(p[0].path, "g1");
  auto value = [&](const std::string& path) {
    const auto i = index_of(p, path);
    return i < 0 ? std::string("<missing>") : p[static_cast<std::size_t>(i)].value;
  };
  EXPECT_EQ(value("g1/idVendor"), "0x05ac");
  EXPECT_EQ(value("g1/idProduct"), "0x12a8");
  EXPECT_EQ(value("g1/bcdDevice"), "0x1501");
  EXPECT_EQ(value("g1/strings/0x409/manufacturer"), "Apple Inc.");
  EXPECT_EQ(value("g1/strings/0x409/product"), "iPhone");
  EXPECT_EQ(value("g1/strings/0x409/serialnumber"), "00008120000A2D910EDB401E");
  EXPECT_EQ(value("g1/configs/c.3/strings/0x409/configuration"), "PTP + Apple Mobile Device");
  EXPECT_EQ(value("g1/configs/c.4/bmAttributes"), "0xc0");
  EXPECT_EQ(value("g1/configs/c.4/MaxPower"), "500");
}

TEST(ConfigfsPlan, DirectoriesBeforeTheirAttributesAndFunctionsBeforeLinks) {
  const auto p = plan();
  EXPECT_LT(index_of(p, "g1/strings/0x409"), index_of(p, "g1/strings/0x409/serialnumber"));
  for (int c = 1; c <= 4; ++c) {
    const std::string dir = "g1/configs/c." + std::to_string(c);
    EXPECT_LT(index_of(p, dir), index_of(p, dir + "/MaxPower"));
    EXPECT_LT(index_of(p, dir + "/strings/0x409"),
              index_of(p, dir + "/strings/0x409/configuration"));
  }
  std::ptrdiff_t last_mkdir = -1;
  std::ptrdiff_t first_link = -1;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i].what == kind::mkdir) last_mkdir = static_cast<std::ptrdiff_t>(i);
    if (p[i].what == kind::symlink && first_link < 0) first_link = static_cast<std::ptrdiff_t>(i);
  }
  EXPECT_LT(last_mkdir, first_link) << "every function exists before any link";
}

TEST(ConfigfsPlan, LinksInInterfaceOrderPerConfiguration) {
  std::vector<std::string> links;
  for (const auto& s : plan())
    if (s.what == kind::symlink) links.push_back(s.path + " -> " + s.value);
  const std::vector<std::string> want = {
      "g1/configs/c.1/ffs.g1_ptp_c1 -> g1/functions/ffs.g1_ptp_c1",
      "g1/configs/c.2/ffs.g1_ipod_c2 -> g1/functions/ffs.g1_ipod_c2",
      "g1/configs/c.3/ffs.g1_ptp_c3 -> g1/functions/ffs.g1_ptp_c3",
      "g1/configs/c.3/ffs.g1_mux_c3 -> g1/functions/ffs.g1_mux_c3",
      "g1/configs/c.4/ffs.g1_ptp_c4 -> g1/functions/ffs.g1_ptp_c4",
      "g1/configs/c.4/ffs.g1_mux_c4 -> g1/functions/ffs.g1_mux_c4",
      "g1/configs/c.4/ffs.g1_eth_c4 -> g1/functions/ffs.g1_eth_c4",
  };
  EXPECT_EQ(links, want);
}

TEST(ConfigfsPlan, UndoRemovesLinksFirstAndTheGadgetLast) {
  const auto steps = undo_steps(plan());
  ASSERT_FALSE(steps.empty());
  for (const auto& s : steps) EXPECT_NE(s.what, kind::write) << "attributes go with their dirs";
  EXPECT_EQ(steps.front().what, kind::symlink);
  EXPECT_EQ(steps.back().path, "g1");
  std::ptrdiff_t last_link = -1;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].what == kind::symlink) last_link = static_cast<std::ptrdiff_t>(i);
  EXPECT_EQ(last_link, 6) << "all seven links, before any directory";
  const auto at = [&](const std::string& path) {
    return std::find_if(steps.begin(), steps.end(), [&](const auto& s) { return s.path == path; }) -
           steps.begin();
  };
  EXPECT_LT(at("g1/configs/c.4/strings/0x409"), at("g1/configs/c.4"));
  EXPECT_LT(at("g1/functions/ffs.g1_mux_c4"), at("g1"));
}

TEST_F(ConfigfsOnADirectory, ApplyWritesTheTree) {
  std::string error;
  ASSERT_TRUE(apply(root, plan(), error)) << error;
  EXPECT_EQ(read(root / "g1/idVendor"), "0x05ac");
  EXPECT_EQ(read(root / "g1/strings/0x409/product"), "iPhone");
  EXPECT_EQ(read(root / "g1/configs/c.2/strings/0x409/configuration"), "iPod USB Interface");
  EXPECT_TRUE(fs::is_directory(root / "g1/functions/ffs.g1_eth_c4"));
  EXPECT_TRUE(fs::is_symlink(root / "g1/configs/c.4/ffs.g1_mux_c4"));
  EXPECT_EQ(fs::read_symlink(root / "g1/configs/c.4/ffs.g1_mux_c4"),
            root / "g1/functions/ffs.g1_mux_c4");
  ASSERT_TRUE(bind_udc(root, "g1", "dummy_udc.0", error)) << error;
  EXPECT_EQ(read(root / "g1/UDC"), "dummy_udc.0");
  ASSERT_TRUE(bind_udc(root, "g1", "", error)) << error;
  EXPECT_EQ(read(root / "g1/UDC"), "");
}

TEST_F(ConfigfsOnADirectory, ApplyNamesThePathThatFailed) {
  std::string error;
  auto p = plan();
  ASSERT_TRUE(apply(root, p, error));
  EXPECT_FALSE(apply(root, p, error)) << "the links exist already";
  EXPECT_NE(error.find("ffs.g1_ptp_c1"), std::string::npos) << error;
}

TEST_F(ConfigfsOnADirectory, UndoRemovesLinksAndFunctions) {
  std::string error;
  ASSERT_TRUE(apply(root, plan(), error));
  undo(root, plan(), error);  // a plain directory keeps attribute files, so some rmdirs fail
  EXPECT_FALSE(fs::exists(root / "g1/configs/c.4/ffs.g1_mux_c4"));
  EXPECT_FALSE(fs::exists(root / "g1/functions/ffs.g1_mux_c4"));
  std::string again;
  undo(root, plan(), again);
  EXPECT_EQ(again.find("ffs."), std::string::npos) << "gone is not an error: " << again;
}

TEST(InTransfers, ZeroLengthPacketAfterAWholeNumberOfPackets) {
  EXPECT_FALSE(needs_zlp(0, 512)) << "a ZLP is already a short packet";
  EXPECT_FALSE(needs_zlp(1, 512));
  EXPECT_FALSE(needs_zlp(511, 512));
  EXPECT_TRUE(needs_zlp(512, 512));
  EXPECT_FALSE(needs_zlp(513, 512));
  EXPECT_TRUE(needs_zlp(512 * 97, 512));
  EXPECT_TRUE(needs_zlp(64, 64)) << "full speed";
  EXPECT_TRUE(needs_zlp(3 * 1024, 1024)) << "SuperSpeed";
  EXPECT_FALSE(needs_zlp(512, 1024));
  EXPECT_FALSE(needs_zlp(512, 0)) << "unknown packet size: never";
}

}  // namespace
}  // namespace tether::gadget
