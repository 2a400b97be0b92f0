#include "camera/session_hub.hpp"

#include "base/log.hpp"
#include "camera/controller_session.hpp"

namespace tether::camera {

namespace msg = proto::camera::messages;

session_hub::session_hub(asio::io_context& io, camera_service& service, std::size_t keep_captures)
    : io_(io), service_(service), keep_captures_(keep_captures) {
  // Camera found or lost: every controller hears it (on the I/O thread).
  service_.on_event([this](const service_event& e) {
    asio::post(io_, [this, e] {
      log::info(e.what == service_event::kind::camera_found ? "camera found: " + e.text
                                                            : "camera lost: " + e.text);
      if (e.what == service_event::kind::camera_found)
        broadcast(msg::camera_attached{e.text.substr(0, proto::camera::max_model), ""});
      else
        broadcast(msg::camera_lost{e.text.substr(0, proto::camera::max_message)});
    });
  });
}

session_hub::~session_hub() {
  service_.on_event(nullptr);
  close_all();
}

std::shared_ptr<controller_session> session_hub::start_session(stream_socket s, std::string name,
                                                               std::vector<std::byte> first_bytes,
                                                               std::function<void()> on_closed,
                                                               bool quiet) {
  auto session = std::make_shared<controller_session>(*this, std::move(s), std::move(name),
                                                      std::move(on_closed));
  sessions_.insert(session);
  if (!quiet) log::info(session->name() + ": connected");
  session->start(std::move(first_bytes));
  return session;
}

void session_hub::broadcast(const proto::camera::message& m, const controller_session* except) {
  for (const auto& s : sessions_)
    if (s.get() != except) s->send(m, proto::peertalk::no_tag);
}

std::uint32_t session_hub::keep_capture(captured_file f) {
  const std::uint32_t id = next_transfer_++;
  if (next_transfer_ == 0) next_transfer_ = 1;  // 0 is not a transfer id
  captures_.emplace_back(id, std::make_shared<const captured_file>(std::move(f)));
  while (captures_.size() > keep_captures_) captures_.pop_front();
  return id;
}

std::shared_ptr<const captured_file> session_hub::find_capture(std::uint32_t transfer_id) const {
  for (const auto& [id, f] : captures_)
    if (id == transfer_id) return f;
  return nullptr;
}

void session_hub::ended(const std::shared_ptr<controller_session>& s) { sessions_.erase(s); }

void session_hub::close_all() {
  auto all = sessions_;
  for (const auto& s : all) s->close("the camera service is stopping");
}

}  // namespace tether::camera
