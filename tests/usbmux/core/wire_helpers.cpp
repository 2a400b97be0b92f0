#include "wire_helpers.hpp"

#include <cstdio>
#include <stdexcept>

#include "usbmux/core/version_packet.hpp"

namespace tether::usbmux::test {

bytes hex(std::string_view text) {
  bytes out;
  int hi = -1;
  for (char c : text) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else if (c == ' ' || c == '|' || c == '\n')
      continue;
    else
      throw std::invalid_argument("bad hex text");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd hex length");
  return out;
}

std::string to_hex(std::span<const std::byte> b) {
  std::string s;
  char buf[4];
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", std::to_integer<unsigned>(b[i]));
    if (i) s += ' ';
    s += buf;
  }
  return s;
}

bytes text_bytes(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bytes mux_packet(header_format f, protocol p, std::span<const std::byte> body, std::uint16_t tx_seq,
                 std::uint16_t rx_seq) {
  bytes out(header_size(f) + body.size());
  mux_header h;
  h.proto = p;
  h.length = static_cast<std::uint32_t>(out.size());
  h.tx_seq = tx_seq;
  h.rx_seq = rx_seq;
  encode(h, f, out);
  std::copy(body.begin(), body.end(), out.begin() + static_cast<std::ptrdiff_t>(header_size(f)));
  return out;
}

bytes version_packet(std::uint32_t major, std::uint32_t minor) {
  bytes body(12);
  encode(version_payload{major, minor, 0}, std::span(body).first<12>());
  return mux_packet(header_format::v1, protocol::version, body);
}

tcp_header th(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
              std::uint8_t flags, std::uint16_t window_wire) {
  tcp_header h;
  h.source_port = sport;
  h.dest_port = dport;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.window_wire = window_wire;
  return h;
}

bytes tcp_packet(header_format f, const tcp_header& h, std::span<const std::byte> payload) {
  bytes body(tcp_header_size + payload.size());
  encode(h, std::span(body).first<tcp_header_size>());
  std::copy(payload.begin(), payload.end(), body.begin() + tcp_header_size);
  return mux_packet(f, protocol::tcp, body);
}

bytes tcp_packet(header_format f, const tcp_header& h, std::string_view payload) {
  return tcp_packet(f, h, text_bytes(payload));
}

parsed parse(std::span<const std::byte> packet, header_format f) {
  parsed p;
  auto h = decode_mux_header(packet, f);
  if (!h) throw std::runtime_error("packet shorter than its header");
  p.mux = *h;
  auto body = packet.subspan(header_size(f));
  if (p.mux.proto == protocol::tcp) {
    p.tcp = decode_tcp_header(body.first<tcp_header_size>());
    body = body.subspan(tcp_header_size);
  }
  p.body.assign(body.begin(), body.end());
  return p;
}

std::vector<bytes> drain(session& s) {
  std::vector<bytes> out;
  bytes buf(65536);
  while (std::size_t n = s.pull_packet(buf))
    out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

std::vector<parsed> drain_parsed(session& s) {
  std::vector<parsed> out;
  for (const auto& p : drain(s)) {
    // VERSION always travels in 8-byte headers.
    const auto proto = static_cast<protocol>(peek_bounds(std::span(p).first<8>()).proto);
    out.push_back(parse(p, proto == protocol::version ? header_format::v1 : s.format()));
  }
  return out;
}

std::vector<event> drain_events(session& s) {
  std::vector<event> out;
  while (auto e = s.poll_event()) out.push_back(std::move(*e));
  return out;
}

}  // namespace tether::usbmux::test
