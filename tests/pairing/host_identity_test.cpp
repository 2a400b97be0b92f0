// The host's keys: made once (at the real size, 2048 bits, and timed: the figure the
// pairing docs quote, here and under qemu-user in the arm64 stage), stored with mode
// 0600, read back the same on the next start, and a damaged file is an error in words,
// never silently replaced (every phone paired so far trusts the root in it).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pairing/certificates.hpp"
#include "pairing/host_identity.hpp"

#include <openssl/evp.h>
#include <unistd.h>

namespace tether::pairing {
namespace {

TEST(HostIdentity, MadeOnceStoredPrivateAndReadBackTheSame) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tether-host-identity-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto file = dir / "tether-host-keys.pem";

  const auto begun = std::chrono::steady_clock::now();
  auto made = load_or_create_host_identity(file);
  const auto took = std::chrono::steady_clock::now() - begun;
  ASSERT_TRUE(made) << made.describe();
  std::printf("host keys made and stored in %.0f ms (two RSA-2048 keys, two certificates)\n",
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_EQ(EVP_PKEY_get_bits(made->root_key.get()), 2048);
  EXPECT_TRUE(signed_by(made->host_certificate, made->root_certificate));

  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto again_begun = std::chrono::steady_clock::now();
  auto again = load_or_create_host_identity(file);
  ASSERT_TRUE(again) << again.describe();
  std::printf("read back in %.1f ms\n", std::chrono::duration<double, std::milli>(
                                            std::chrono::steady_clock::now() - again_begun)
                                            .count());
  EXPECT_EQ(again->to_pem(), made->to_pem());

  // A damaged file stays as it is, and the error says what to do.
  {
    std::ofstream out(file, std::ios::trunc);
    out << made->root_key.private_pem();
  }
  auto damaged = load_or_create_host_identity(file);
  ASSERT_FALSE(damaged);
  EXPECT_NE(damaged.describe().find("is damaged"), std::string::npos) << damaged.describe();
  EXPECT_NE(damaged.describe().find("move it away"), std::string::npos) << damaged.describe();
  EXPECT_EQ(host_identity::from_pem(made->root_key.private_pem()).describe(),
            "expected 4 PEM blocks (root key and certificate, host key and certificate), found 1");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tether::pairing
