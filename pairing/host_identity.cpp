#include "pairing/host_identity.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/small_file.hpp"
#include "pairing/certificates.hpp"

namespace tether::pairing {
namespace {

// The PEM blocks of a text, in order.
std::vector<std::string> pem_blocks(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = text.find("-----BEGIN ", at)) != std::string_view::npos) {
    const std::size_t end_tag = text.find("-----END ", at);
    if (end_tag == std::string_view::npos) break;
    std::size_t end = text.find('\n', end_tag);
    end = end == std::string_view::npos ? text.size() : end + 1;
    out.emplace_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

}  // namespace

base::result<host_identity> host_identity::generate(int bits) {
  auto root = rsa_key::generate(bits);
  if (!root) return {root.error(), root.detail()};
  auto host = rsa_key::generate(bits);
  if (!host) return {host.error(), host.detail()};
  auto root_cert = make_root_certificate(*root);
  if (!root_cert) return {root_cert.error(), root_cert.detail()};
  auto host_cert = make_leaf_certificate(*root, *root_cert, *host);
  if (!host_cert) return {host_cert.error(), host_cert.detail()};
  return host_identity{*root, *root_cert, *host, *host_cert};
}

std::string host_identity::to_pem() const {
  return root_key.private_pem() + root_certificate + host_key.private_pem() + host_certificate;
}

base::result<host_identity> host_identity::from_pem(std::string_view pem) {
  const auto blocks = pem_blocks(pem);
  auto bad = [](const std::string& why) -> base::result<host_identity> {
    return {std::make_error_code(std::errc::invalid_argument), why};
  };
  if (blocks.size() != 4)
    return bad(
        "expected 4 PEM blocks (root key and certificate, host key and certificate), found " +
        std::to_string(blocks.size()));
  auto root = rsa_key::from_private_pem(blocks[0]);
  if (!root) return bad("the root key: " + root.describe());
  auto host = rsa_key::from_private_pem(blocks[2]);
  if (!host) return bad("the host key: " + host.describe());
  auto root_in_cert = certificate_key(blocks[1]);
  auto host_in_cert = certificate_key(blocks[3]);
  if (!root_in_cert || !root_in_cert->same_public_key(*root))
    return bad("the root certificate does not match the root key");
  if (!host_in_cert || !host_in_cert->same_public_key(*host) || !signed_by(blocks[3], blocks[1]))
    return bad("the host certificate does not match the host key or was not signed by the root");
  return host_identity{*root, blocks[1], *host, blocks[3]};
}

base::result<host_identity> load_or_create_host_identity(const std::filesystem::path& file) {
  constexpr std::size_t max_bytes = 64 << 10;  // four PEM blocks are about 5 KiB
  std::string text;
  if (const int e = base::read_file(file.string(), max_bytes + 1, text); e != ENOENT) {
    if (e != 0)
      return {std::error_code(e, std::generic_category()),
              "cannot read " + file.string() + ": " + std::strerror(e) +
                  " (is it readable by tetherd's user?)"};
    auto id = text.size() > max_bytes
                  ? base::result<host_identity>(std::make_error_code(std::errc::file_too_large),
                                                "larger than 64 KiB")
                  : host_identity::from_pem(text);
    if (!id)
      return {id.error(), file.string() + " is damaged (" + id.describe() +
                              "): move it away to make a new one; phones paired with it will ask "
                              "to Trust again"};
    return id;
  }
  auto id = host_identity::generate();
  if (!id) return id;
  std::error_code ignored;
  std::filesystem::create_directories(file.parent_path(), ignored);
  if (const int e = base::write_file_atomically(file.string(), id->to_pem(), 0600); e != 0)
    return {std::error_code(e, std::generic_category()),
            "cannot store " + file.string() + ": " + std::strerror(e)};
  return id;
}

}  // namespace tether::pairing
