#pragma once
// TLS as lockdownd speaks it, with no socket: ciphertext in from the peer, ciphertext
// out to it, plaintext in between. lockdown switches a plain connection to TLS after
// StartSession and back after StopSession, so the pipe also hands back the bytes that
// followed the peer's close_notify: they are plaintext again.
//
// Both ends use it: tetherd as the client (it presents the pair record's root
// certificate, as libimobiledevice does) and the virtual phone as the server (its
// device certificate; it asks for the client's and checks it against the record).
// Security level 0 and TLS 1.0 upward: the certificates in pair records made by older
// tools are signed with SHA-1, and phones accept them.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;
using BIO = struct bio_st;

namespace tether::pairing {

class tls_pipe {
 public:
  enum class role { client, server };
  struct identity {
    std::string certificate_pem;
    std::string private_key_pem;
  };

  // A client starts its handshake at once: its ClientHello waits in take_ciphertext().
  static base::result<std::unique_ptr<tls_pipe>> make(role r, const identity& own);
  ~tls_pipe();
  tls_pipe(const tls_pipe&) = delete;
  tls_pipe& operator=(const tls_pipe&) = delete;

  // Ciphertext from the peer. An error ends the pipe: a failed handshake, a bad record.
  base::result<void> feed(std::span<const std::byte> ciphertext);
  // Plaintext for the peer; held until the handshake is done.
  base::result<void> write(std::span<const std::byte> plaintext);
  // Sends close_notify.
  void close();

  std::vector<std::byte> take_plaintext();   // decrypted bytes from the peer
  std::vector<std::byte> take_ciphertext();  // bytes to send to the peer
  // After the peer's close_notify: what it sent after it (not TLS any more).
  std::vector<std::byte> take_after_close();

  bool established() const { return established_; }
  bool peer_closed() const { return peer_closed_; }
  std::string peer_certificate_pem() const;
  std::string version() const;  // "TLSv1.3"

 private:
  tls_pipe() = default;
  base::result<void> pump();

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the peer (owned by ssl_)
  BIO* out_ = nullptr;  // ciphertext to the peer (owned by ssl_)
  std::vector<std::byte> plaintext_;
  std::vector<std::byte> pending_;  // written before the handshake ended
  bool established_ = false;
  bool peer_closed_ = false;
};

}  // namespace tether::pairing
