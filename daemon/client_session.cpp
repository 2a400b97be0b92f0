#include "daemon/client_session.hpp"

#include <asio/write.hpp>
#include <cstring>

#include "base/log.hpp"
#include "daemon/forward_table.hpp"
#include "daemon/pairing_service.hpp"
#include "daemon/relay.hpp"
#include "daemon/reverse_table.hpp"

namespace tether::daemon {

using namespace proto::usbmuxd;

namespace {
const char* request_name(const request_body& b) {
  constexpr const char* names[] = {
      "ListDevices",    "Listen",           "Connect",       "ReadBUID",       "ReadPairRecord",
      "SavePairRecord", "DeletePairRecord", "ListListeners", "Tether request", "unknown request"};
  static_assert(std::size(names) == std::variant_size_v<request_body>);
  return names[b.index()];
}
}  // namespace

client_session::client_session(socket_type socket, daemon_context& ctx, std::uint32_t number)
    : socket_(std::move(socket)), ctx_(ctx), number_(number) {}

client_session::~client_session() { ctx_.devices.remove_watcher(this); }

std::string client_session::who() const {
  return "client " + std::to_string(number_) +
         (client_.prog_name.empty() ? "" : " " + client_.prog_name);
}

void client_session::start() { read_commands(); }

void client_session::read_commands() {
  if (reading_) return;
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(in_buf_), [self = shared_from_this()](std::error_code ec, std::size_t n) {
        self->reading_ = false;
        if (self->state_ == state::closed) return;
        if (ec) return self->close();  // the client went away (or closed its Listen socket)
        if (self->state_ != state::command) {
          // usbmuxd answers anything sent on a Listen socket by dropping the socket.
          log::warn(self->who() + ": sent data on its Listen socket: closing it");
          return self->close();
        }
        if (auto e = self->reader_.feed(std::span(self->in_buf_).first(n))) self->framing_ = e;
        self->handle_requests();
      });
}

// After a read, and again when replies drain, so a client held back resumes.
void client_session::handle_requests() {
  while (state_ == state::command && out_bytes_ < ctx_.limits.read_pause_bytes) {
    auto m = reader_.next();
    if (!m) break;
    auto decoded = decode_request(m->head, m->body);
    if (!decoded) {
      if (decoded.error() == errc::bad_version) {
        queue(encode_result(m->head.tag, result_code::bad_version, plist_));
      } else {
        log::warn(who() + ": ignored a request: " + decoded.describe());
      }
      continue;
    }
    handle(*decoded);
  }
  if (state_ == state::connecting) {
    // Bytes that came with the Connect are the first ones for the phone; nothing
    // more is read until the relay takes the socket over.
    early_bytes_ = reader_.take_rest();
    return;
  }
  if (state_ == state::command && out_bytes_ >= ctx_.limits.read_pause_bytes) return;  // held back
  if (framing_) {  // every request before the bad header was handled
    log::warn(who() + ": " + framing_.message() + ": closing the socket");
    return close();
  }
  if (state_ == state::command || state_ == state::listening) read_commands();
}

void client_session::handle(const request& r) {
  if (r.plist) plist_ = true;
  if (!r.client.prog_name.empty()) client_ = r.client;
  log::debug(who() + ": " + request_name(r.body) + " (tag " + std::to_string(r.tag) + ", " +
             (r.plist ? "plist" : "binary") + ")");
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, requests::list_devices>) {
          const auto list = ctx_.devices.devices();
          queue(encode_device_list(r.tag, list));
        } else if constexpr (std::is_same_v<T, requests::listen>) {
          queue(encode_result(r.tag, result_code::ok, plist_));
          state_ = state::listening;
          for (const auto& d : ctx_.devices.devices()) queue(encode_attached(d, plist_));
          ctx_.devices.add_watcher(this);
          log::debug(who() + ": listening for devices");
        } else if constexpr (std::is_same_v<T, requests::connect>) {
          start_connect(r.tag, body);
        } else if constexpr (std::is_same_v<T, requests::list_listeners>) {
          const auto list = ctx_.devices.listeners();
          queue(encode_listener_list(r.tag, list));
        } else if constexpr (std::is_same_v<T, requests::read_buid>) {
          queue(encode_buid(r.tag, ctx_.buid));
        } else if constexpr (std::is_same_v<T, requests::read_pair_record>) {
          // Pair-record commands answer errno values in Number, as usbmuxd does.
          auto record = ctx_.records.read(body.id);
          if (auto* data = std::get_if<std::vector<std::byte>>(&record)) {
            queue(encode_pair_record_data(r.tag, *data));
          } else {
            queue(encode_result_number(r.tag, static_cast<std::uint32_t>(std::get<int>(record)),
                                       plist_));
          }
        } else if constexpr (std::is_same_v<T, requests::save_pair_record>) {
          const int e = ctx_.records.save(body.id, body.data);
          if (e != 0)
            log::warn(who() + ": pair record for '" + body.id + "' not saved: " + std::strerror(e));
          queue(encode_result_number(r.tag, static_cast<std::uint32_t>(e), plist_));
          // Listeners learn that the phone is paired when the record is its own.
          if (e == 0 && body.device_id && ctx_.devices.udid_of(*body.device_id) == body.id)
            ctx_.devices.paired(*body.device_id);
        } else if constexpr (std::is_same_v<T, requests::delete_pair_record>) {
          queue(encode_result_number(
              r.tag, static_cast<std::uint32_t>(ctx_.records.remove(body.id)), plist_));
        } else if constexpr (std::is_same_v<T, requests::control>) {
          if (!body.parsed) {
            const std::string what = body.parsed.describe();
            log::info(who() + ": bad tetherd request: " + what);
            queue(encode_plist(r.tag,
                               proto::tetherd::result_dict(
                                   static_cast<std::uint32_t>(result_code::bad_command), what)));
          } else {
            handle_control(r.tag, *body.parsed);
          }
        } else {
          log::info(who() + ": unknown request '" + body.what + "'");
          queue(encode_result(r.tag, result_code::bad_command, plist_));
        }
      },
      r.body);
}

void client_session::handle_control(std::uint32_t tag, const proto::tetherd::request& r) {
  namespace ctl = proto::tetherd;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ctl::requests::forward_add>) {
          if (auto added = ctx_.forwards.add(body.spec)) {
            log::info(who() + ": added forward " + added->spec.name);
            queue(encode_plist(tag, ctl::forward_added_dict(*added)));
          } else {
            queue(encode_plist(
                tag, ctl::result_dict(static_cast<std::uint32_t>(result_code::invalid_argument),
                                      added.describe())));
          }
        } else if constexpr (std::is_same_v<T, ctl::requests::forward_remove>) {
          if (ctx_.forwards.remove(body.name)) {
            log::info(who() + ": removed forward " + body.name);
            queue(encode_plist(tag, ctl::result_dict(0)));
          } else {
            queue(encode_plist(tag,
                               ctl::result_dict(static_cast<std::uint32_t>(result_code::bad_device),
                                                "no forward named '" + body.name + "'")));
          }
        } else if constexpr (std::is_same_v<T, ctl::requests::forward_list>) {
          const auto list = ctx_.forwards.list();
          queue(encode_plist(tag, ctl::forward_list_dict(list)));
        } else if constexpr (std::is_same_v<T, ctl::requests::status>) {
          auto phones = ctx_.devices.phones();
          if (ctx_.pairing)
            for (auto& p : phones) p.pairing = ctx_.pairing->state_of(p.device_id);
          const auto conns = ctx_.devices.connections();
          const auto silent = ctx_.devices.silent_phones();
          queue(encode_plist(tag, ctl::status_dict(phones, conns, silent)));
        } else if constexpr (std::is_same_v<T, ctl::requests::set_log_level>) {
          log::set_level(*log::parse_level(body.level));
          log::info(who() + ": log level set to " + body.level);
          queue(encode_plist(tag, ctl::result_dict(0)));
        } else if constexpr (std::is_same_v<T, ctl::requests::pair>) {
          queue(encode_plist(tag, pair_reply(body.udid)));
        } else if constexpr (std::is_same_v<T, ctl::requests::reverse_add>) {
          if (ctx_.reverses == nullptr) {
            queue(encode_plist(
                tag, ctl::result_dict(static_cast<std::uint32_t>(result_code::bad_command),
                                      "this tetherd has no reverse channels")));
          } else if (auto added = ctx_.reverses->add(body.spec)) {
            log::info(who() + ": added reverse " + added->spec.name);
            queue(encode_plist(tag, ctl::reverse_added_dict(*added)));
          } else {
            queue(encode_plist(
                tag, ctl::result_dict(static_cast<std::uint32_t>(result_code::invalid_argument),
                                      added.describe())));
          }
        } else if constexpr (std::is_same_v<T, ctl::requests::reverse_remove>) {
          if (ctx_.reverses && ctx_.reverses->remove(body.name)) {
            log::info(who() + ": removed reverse " + body.name);
            queue(encode_plist(tag, ctl::result_dict(0)));
          } else {
            queue(encode_plist(tag,
                               ctl::result_dict(static_cast<std::uint32_t>(result_code::bad_device),
                                                "no reverse named '" + body.name + "'")));
          }
        } else if constexpr (std::is_same_v<T, ctl::requests::reverse_list>) {
          const auto list =
              ctx_.reverses ? ctx_.reverses->list() : std::vector<ctl::reverse_status>{};
          queue(encode_plist(tag, ctl::reverse_list_dict(list)));
        }
      },
      r);
}

// TetherPair: the phone named, or the only one attached; pairing then runs in the
// background and TetherStatus follows it.
plist_t client_session::pair_reply(const std::string& udid) {
  namespace ctl = proto::tetherd;
  auto refuse = [](result_code code, const std::string& why) {
    return ctl::result_dict(static_cast<std::uint32_t>(code), why);
  };
  if (ctx_.pairing == nullptr)
    return refuse(result_code::bad_command, "this tetherd does not pair");
  std::uint32_t id = 0;
  if (!udid.empty()) {
    id = ctx_.devices.find_udid(udid);
    if (id == 0) return refuse(result_code::bad_device, "no phone " + udid + " attached");
  } else {
    const auto all = ctx_.devices.devices();
    if (all.empty()) return refuse(result_code::bad_device, "no phone attached");
    if (all.size() > 1)
      return refuse(result_code::bad_device,
                    std::to_string(all.size()) + " phones attached: name one with --udid");
    id = all.front().id;
  }
  if (auto started = ctx_.pairing->pair(id); !started)
    return refuse(result_code::bad_device, started.describe());
  log::info(who() + ": pairing " + ctx_.devices.udid_of(id) + " (asked by a client)");
  return ctl::result_dict(0);
}

void client_session::start_connect(std::uint32_t tag, const requests::connect& c) {
  if (!c.device_id) return queue(encode_result(tag, result_code::bad_device, plist_));
  if (!c.port) return queue(encode_result(tag, result_code::bad_command, plist_));
  state_ = state::connecting;
  auto dialing = dialer::dial(
      ctx_.devices, *c.device_id, *c.port, who(),
      [self = shared_from_this(), tag](dialer& d, dialer::outcome o, const std::string& why) {
        if (self->state_ != state::connecting) return d.cancel();
        // A refusal repeats while an app is closed (a camera service asks every 2 s):
        // logged once, then in summaries, until the port answers.
        const std::string repeat_key =
            "port " + std::to_string(d.port()) + " on device " + std::to_string(d.device_id());
        if (o == dialer::outcome::connected) {
          self->ctx_.repeats.forget(repeat_key);
          log::info(self->who() + ": connected to port " + std::to_string(d.port()) +
                    " on device " + std::to_string(d.device_id()));
          self->state_ = state::handing_over;  // raw bytes from now on, after the Result
          self->queue(encode_result(tag, result_code::ok, self->plist_));
          return;
        }
        if (auto line = self->ctx_.repeats.note(repeat_key, why, std::chrono::steady_clock::now()))
          log::info(self->who() + ": " + *line);
        // A failure found inside dial() itself: the read loop is still running.
        const bool was_async = self->dialer_ != nullptr;
        self->dialer_.reset();
        self->state_ = state::command;  // another command may follow, as with usbmuxd
        const bool refused = o == dialer::outcome::refused || o == dialer::outcome::timed_out;
        self->queue(
            encode_result(tag, refused ? result_code::connection_refused : result_code::bad_device,
                          self->plist_));
        if (was_async) self->read_commands();
      });
  if (state_ == state::connecting) dialer_ = std::move(dialing);
}

// The Connect result is on the wire: from now on the socket belongs to a relay.
void client_session::hand_over() {
  auto d = std::move(dialer_);
  state_ = state::closed;
  std::make_shared<relay>(std::move(socket_), ctx_.devices, d->device_id(), d->conn(), d->port(),
                          who(), d->phone_closed(), std::move(early_bytes_), relay::ended_fn{},
                          ctx_.limits.relay_chunk)
      ->start();
}

void client_session::queue(std::vector<std::byte> message, bool event) {
  if (state_ == state::closed) return;
  if (event && out_.size() >= ctx_.limits.max_queued_events) {
    log::warn(who() + ": dropped: it left " + std::to_string(out_.size()) +
              " device events unread (it must keep reading its Listen socket)");
    return close();
  }
  out_bytes_ += message.size();
  out_.push_back(std::move(message));
  write_queued();
}

void client_session::write_queued() {
  if (writing_ || out_.empty() || state_ == state::closed) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [self = shared_from_this()](std::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->state_ == state::closed) return;
                      if (ec) return self->close();
                      self->out_bytes_ -= self->out_.front().size();
                      self->out_.pop_front();
                      if (self->state_ == state::refusing) return self->close();
                      if (self->state_ == state::command && !self->reading_)
                        self->handle_requests();  // below the bound again: read on
                      if (!self->out_.empty()) return self->write_queued();
                      if (self->state_ == state::handing_over) self->hand_over();
                    });
}

// No request was read, so the reply has tag 0 and a non-zero Number: whatever the
// client asks first does not succeed, and the plist's error string says why to whoever
// reads it. The reply is a few hundred bytes: it fits the socket buffer, so a refused
// client costs one short write and a descriptor closed right after it.
void client_session::refuse(const std::string& why) {
  plist_ = true;
  queue(encode_plist(
      0, proto::tetherd::result_dict(static_cast<std::uint32_t>(result_code::bad_command), why)));
  state_ = state::refusing;
}

void client_session::close() {
  if (state_ == state::closed) return;
  state_ = state::closed;
  ctx_.devices.remove_watcher(this);
  if (dialer_) dialer_->cancel();
  dialer_.reset();
  std::error_code ignored;
  socket_.close(ignored);
}

void client_session::on_attached(const device& d) { queue(encode_attached(d, plist_), true); }
void client_session::on_detached(std::uint32_t device_id) {
  queue(encode_detached(device_id, plist_), true);
}
void client_session::on_paired(std::uint32_t device_id) {
  queue(encode_paired(device_id, plist_), true);
}

}  // namespace tether::daemon
