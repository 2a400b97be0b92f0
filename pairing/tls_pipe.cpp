#include "pairing/tls_pipe.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "pairing/certificates.hpp"
#include "pairing/openssl_error.hpp"
#include "pairing/rsa_key.hpp"

namespace tether::pairing {
namespace {

base::result<void> tls_failed(const std::string& what) {
  return {std::make_error_code(std::errc::protocol_error), openssl_error(what)};
}
base::result<std::unique_ptr<tls_pipe>> not_made(const std::string& what) {
  return {std::make_error_code(std::errc::protocol_error), openssl_error(what)};
}

// The server asks for the client's certificate but leaves judging it to its caller,
// which compares it with the pair record (phones do not chain it to a CA store).
int accept_any(int, X509_STORE_CTX*) { return 1; }

}  // namespace

base::result<std::unique_ptr<tls_pipe>> tls_pipe::make(role r, const identity& own) {
  std::unique_ptr<tls_pipe> p(new tls_pipe);
  p->ctx_ = SSL_CTX_new(r == role::client ? TLS_client_method() : TLS_server_method());
  if (p->ctx_ == nullptr) return not_made("cannot make a TLS context");
  SSL_CTX_set_security_level(p->ctx_, 0);
  SSL_CTX_set_min_proto_version(p->ctx_, TLS1_VERSION);
  auto key = rsa_key::from_private_pem(own.private_key_pem);
  if (!key) return {key.error(), "the TLS key: " + key.describe()};
  BIO* b =
      BIO_new_mem_buf(own.certificate_pem.data(), static_cast<int>(own.certificate_pem.size()));
  X509* cert = b != nullptr ? PEM_read_bio_X509(b, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(b);
  const bool loaded = cert != nullptr && SSL_CTX_use_certificate(p->ctx_, cert) == 1 &&
                      SSL_CTX_use_PrivateKey(p->ctx_, key->get()) == 1;
  X509_free(cert);
  if (!loaded) return not_made("cannot use the certificate and key for TLS");
  if (r == role::server) SSL_CTX_set_verify(p->ctx_, SSL_VERIFY_PEER, accept_any);
  p->ssl_ = SSL_new(p->ctx_);
  p->in_ = BIO_new(BIO_s_mem());
  p->out_ = BIO_new(BIO_s_mem());
  if (p->ssl_ == nullptr || p->in_ == nullptr || p->out_ == nullptr) {
    BIO_free(p->in_);
    BIO_free(p->out_);
    return not_made("cannot make a TLS session");
  }
  BIO_set_mem_eof_return(p->in_, -1);  // an empty input means "wait", not end of stream
  SSL_set_bio(p->ssl_, p->in_, p->out_);
  if (r == role::client) {
    SSL_set_connect_state(p->ssl_);
    if (auto ok = p->pump(); !ok) return {ok.error(), ok.detail()};
  } else {
    SSL_set_accept_state(p->ssl_);
  }
  return p;
}

tls_pipe::~tls_pipe() {
  SSL_free(ssl_);  // frees both BIOs
  SSL_CTX_free(ctx_);
}

base::result<void> tls_pipe::feed(std::span<const std::byte> ciphertext) {
  if (!ciphertext.empty() &&
      BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size())) <= 0)
    return tls_failed("cannot buffer TLS input");
  return pump();
}

base::result<void> tls_pipe::pump() {
  if (peer_closed_) return {};
  if (!established_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
      return tls_failed("TLS handshake failed");
    }
    established_ = true;
    if (!pending_.empty()) {
      auto held = std::move(pending_);
      pending_.clear();
      if (auto ok = write(held); !ok) return ok;
    }
  }
  std::byte buf[16384];
  for (;;) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plaintext_.insert(plaintext_.end(), buf, buf + n);
      continue;
    }
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
    if (e == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return {};
    }
    return tls_failed("TLS record rejected");
  }
}

base::result<void> tls_pipe::write(std::span<const std::byte> plaintext) {
  if (!established_) {
    pending_.insert(pending_.end(), plaintext.begin(), plaintext.end());
    return {};
  }
  while (!plaintext.empty()) {
    const int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
    if (n <= 0) return tls_failed("TLS write failed");
    plaintext = plaintext.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

void tls_pipe::close() {
  if (established_) SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::vector<std::byte> tls_pipe::take_plaintext() { return std::exchange(plaintext_, {}); }

std::vector<std::byte> tls_pipe::take_ciphertext() {
  std::vector<std::byte> out(BIO_ctrl_pending(out_));
  if (!out.empty()) BIO_read(out_, out.data(), static_cast<int>(out.size()));
  return out;
}

std::vector<std::byte> tls_pipe::take_after_close() {
  if (!peer_closed_) return {};
  std::vector<std::byte> out(BIO_ctrl_pending(in_));
  if (!out.empty()) BIO_read(in_, out.data(), static_cast<int>(out.size()));
  return out;
}

std::string tls_pipe::peer_certificate_pem() const {
  X509* x = SSL_get1_peer_certificate(ssl_);
  if (x == nullptr) return {};
  std::string out = certificate_pem(x);
  X509_free(x);
  return out;
}

std::string tls_pipe::version() const { return SSL_get_version(ssl_); }

}  // namespace tether::pairing
