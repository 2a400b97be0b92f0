#include "tools/cli/viewer_camera.hpp"

#include <sys/un.h>

#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

namespace tether::cli {

namespace cam = proto::camera;
namespace msg = proto::camera::messages;

viewer_camera::viewer_camera(asio::io_context& io, cam_options where, callbacks cb)
    : io_(io), where_(std::move(where)), cb_(std::move(cb)), due_(io), retry_(io), grace_(io) {
  if (where_.phone_port != 0) {
    peer_ = "the app on port " + std::to_string(where_.phone_port);
    dialer_.emplace(io_, where_.daemon.socket, where_.daemon.udid);
  } else if (where_.socket.size() >= sizeof(sockaddr_un::sun_path)) {
    throw cli_error(usage, "camera socket path too long");
  }
}

viewer_camera::~viewer_camera() { close_socket(); }

void viewer_camera::start(std::function<void(const cli_error*)> first) {
  first_ = std::move(first);
  connect();
}

void viewer_camera::connect() {
  state_ = state::connecting;
  const auto gen = generation_;
  if (dialer_) {
    return dialer_->open_port(where_.phone_port,
                              [this, gen](std::optional<stream_socket> s, const cli_error* e) {
                                if (gen != generation_ || state_ != state::connecting) return;
                                if (e != nullptr) return lost(*e);
                                socket_.emplace(std::move(*s));
                                opened();
                              });
  }
  socket_.emplace(io_);
  socket_->async_connect(asio::local::stream_protocol::endpoint(where_.socket),
                         [this, gen](std::error_code ec) {
                           if (gen != generation_ || state_ != state::connecting) return;
                           if (ec)
                             return lost(cam_words::cannot_reach(where_.socket, ec.message()));
                           opened();
                         });
}

void viewer_camera::opened() {
  state_ = state::hello;
  reader_ = proto::peertalk::frame_reader(proto::peertalk::default_max_payload);
  send(msg::hello{cam::protocol_version, cam::role::controller, "tether cam", {}}, 0);
  arm_due(cam_client::hello_wait, true);
  read();
}

void viewer_camera::read() {
  socket_->async_read_some(
      asio::buffer(in_), [this, gen = generation_](std::error_code ec, std::size_t n) {
        if (gen != generation_) return;
        if (ec) return broke();
        // Silence is counted per read, while an answer or (live view on) a frame is due:
        // an app in the background sends neither.
        if (running_ || live_) arm_due(cam_client::silence_wait, false);
        const bool framed = !reader_.feed(std::span(in_.data(), n));
        while (auto f = reader_.next()) {
          auto decoded = cam::decode(*f);
          if (const auto* e = std::get_if<cam::decode_error>(&decoded))
            return lost(cam_words::unreadable_frame(peer_, e->text));
          received(std::get<cam::message>(std::move(decoded)), f->tag);
          if (gen != generation_) return;  // that ended the connection
        }
        if (!framed)
          return lost(
              state_ == state::hello
                  ? cam_words::not_camera_protocol(peer_, dialer_.has_value(), reader_.error_text())
                  : cam_words::unreadable_stream(peer_, reader_.error_text()));
        read();
      });
}

void viewer_camera::received(cam::message&& m, std::uint32_t tag) {
  if (state_ == state::hello) {
    try {
      camera_name_ = cam_words::camera_name(m, peer_, dialer_.has_value());
    } catch (const cli_error& e) {
      return lost(e);
    }
    disarm_due();
    state_ = state::open;
    if (auto first = std::exchange(first_, nullptr)) first(nullptr);
    // Live view before the page's requests. Two frames in flight: the link stays busy
    // while this side hands one on.
    job start;
    start.request = msg::start_live_view{2};
    start.done = [this](const cam::message* r, const failure* why) { live_view_started(r, why); };
    jobs_.push_front(std::move(start));
    return next_job();
  }
  if (stop_tag_ != 0 && tag == stop_tag_) return finish_stop();
  if (!job_reply(m, tag)) pass_on(std::move(m));
}

void viewer_camera::live_view_started(const cam::message* reply, const failure* why) {
  if (reply != nullptr) {
    live_ = true;
    arm_due(cam_client::silence_wait, false);
    cb_.status(true, "live view from " + camera_name_);
  } else if (state_ == state::open) {  // refused: try again, as after a broken connection
    lost(cli_error(failed, why->text));
  }
}

bool viewer_camera::job_reply(cam::message& m, std::uint32_t tag) {
  if (!running_) return false;
  job& j = jobs_.front();
  if (j.at == job::step::capture_done) {  // capture_done is an event, after the reply
    const auto* d = std::get_if<msg::capture_done>(&m);
    if (d == nullptr) return false;
    try {
      j.file.emplace(j.dir, *d);
    } catch (const std::exception& e) {
      const failure f{true, e.what()};
      finish_job(nullptr, nullptr, &f);
      return true;
    }
    j.tag = ++tag_;
    j.at = job::step::download;
    send(msg::download{d->transfer_id, 0}, j.tag);
    arm_due(cam_client::silence_wait, false);
    return true;
  }
  if (tag == proto::peertalk::no_tag || tag != j.tag) return false;
  if (j.at == job::step::download) {
    try {
      j.file->take(m);
      if (j.file->complete()) {
        const saved_capture saved = j.file->finish();
        finish_job(nullptr, &saved, nullptr);
      }
    } catch (const cli_error& e) {
      const failure f{true, e.what()};
      finish_job(nullptr, nullptr, &f);
    }
    return true;
  }
  if (const auto* e = std::get_if<msg::error>(&m)) {
    const failure f{true, cam_words::refused(*e).what()};
    finish_job(nullptr, nullptr, &f);
  } else if (j.capture_done) {
    j.at = job::step::capture_done;
  } else {
    finish_job(&m, nullptr, nullptr);
  }
  return true;
}

void viewer_camera::pass_on(cam::message&& m) {
  if (auto* f = std::get_if<msg::live_view_frame>(&m)) {
    // tether-camera is on this machine (a unix socket): its timestamps are this
    // machine's monotonic clock, as `tether cam liveview` assumes too.
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    const std::uint32_t sequence = f->sequence;
    cb_.frame({std::make_shared<const std::vector<std::byte>>(std::move(f->jpeg)), sequence,
               f->width, f->height,
               static_cast<double>(now_us - static_cast<std::int64_t>(f->timestamp_us)) / 1000.0});
    // Handed on: the next frame may come (PROTOCOL.md §6.2). Browsers that fall behind
    // lose frames in the fan-out, not here.
    send(msg::live_view_ack{sequence}, proto::peertalk::no_tag);
  } else if (std::holds_alternative<msg::property_changed>(m)) {
    cb_.properties_changed();
  } else if (const auto* gone = std::get_if<msg::camera_lost>(&m)) {
    cb_.status(true, "the camera is gone" + (gone->reason.empty() ? "" : ": " + gone->reason));
  } else if (const auto* att = std::get_if<msg::camera_attached>(&m)) {
    cb_.status(true, "camera " + att->model);
  } else if (const auto* e = std::get_if<msg::error>(&m)) {
    cb_.status(true, "tether-camera: " + e->message);
  }
}

void viewer_camera::request(cam::message m, answer done) {
  if (state_ == state::waiting || state_ == state::stopped || stopped_) {
    const failure f{false, "not connected"};
    return done(nullptr, &f);
  }
  job j;
  j.request = std::move(m);
  j.done = std::move(done);
  jobs_.push_back(std::move(j));
  next_job();
}

void viewer_camera::capture(std::filesystem::path dir, captured done) {
  if (state_ == state::waiting || state_ == state::stopped || stopped_) {
    const failure f{false, "not connected"};
    return done(nullptr, &f);
  }
  job j;
  j.request = msg::capture{};
  j.capture_done = std::move(done);
  j.dir = std::move(dir);
  jobs_.push_back(std::move(j));
  next_job();
}

void viewer_camera::next_job() {
  if (running_ || jobs_.empty() || state_ != state::open || stopped_) return;
  job& j = jobs_.front();
  running_ = true;
  j.tag = ++tag_;
  try {
    send(j.request, j.tag);
  } catch (const std::exception& e) {  // a message encode() refuses
    const failure f{true, e.what()};
    return finish_job(nullptr, nullptr, &f);
  }
  arm_due(cam_client::silence_wait, false);
}

void viewer_camera::finish_job(const cam::message* reply, const saved_capture* file,
                               const failure* why) {
  job j = std::move(jobs_.front());
  jobs_.pop_front();
  running_ = false;
  if (live_)
    arm_due(cam_client::silence_wait, false);  // frames are still due
  else
    disarm_due();
  const auto gen = generation_;
  if (j.capture_done)
    j.capture_done(file, why);
  else if (j.done)
    j.done(reply, why);
  if (gen == generation_) next_job();
}

void viewer_camera::send(const cam::message& m, std::uint32_t tag) {
  out_.push_back(std::make_shared<const std::vector<std::byte>>(cam::encode(m, tag)));
  write_next();
}

void viewer_camera::write_next() {
  if (writing_ || out_.empty() || !socket_) return;
  writing_ = true;
  auto buffer = out_.front();
  asio::async_write(*socket_, asio::buffer(*buffer),
                    [this, buffer, gen = generation_](std::error_code ec, std::size_t) {
                      if (gen != generation_) return;
                      writing_ = false;
                      if (ec) return broke();
                      out_.pop_front();
                      write_next();
                    });
}

void viewer_camera::arm_due(std::chrono::milliseconds limit, bool hello) {
  const auto id = ++due_id_;
  due_.expires_after(limit);
  due_.async_wait([this, id, limit, hello](std::error_code ec) {
    if (ec || id != due_id_) return;
    lost(hello ? cam_words::no_hello(peer_, dialer_.has_value()) : cam_words::silent(peer_, limit));
  });
}

void viewer_camera::disarm_due() {
  ++due_id_;
  due_.cancel();
}

void viewer_camera::broke() {
  if (state_ == state::stopped) return;
  if (stopped_) return finish_stop();  // stopping anyway
  close_socket();
  state_ = state::ending;
  if (!dialer_) return lost(cam_words::closed(peer_));
  // Through the daemon, an unplugged phone and an app that quit look alike here: the
  // daemon's list tells them apart. The daemon may hear of the unplug a moment after
  // the connection broke, so the phone gets up to a second to leave the list.
  check_phone(std::chrono::steady_clock::now() + std::chrono::seconds(1));
}

void viewer_camera::check_phone(std::chrono::steady_clock::time_point give_up) {
  dialer_->still_listed([this, give_up](std::optional<bool> attached) {
    if (state_ != state::ending) return;
    if (!attached || !*attached || std::chrono::steady_clock::now() >= give_up)
      return lost(
          cam_words::phone_ended(peer_, where_.daemon.socket, dialer_->chosen().udid, attached));
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([this, give_up](std::error_code ec) {
      if (!ec && state_ == state::ending) check_phone(give_up);
    });
  });
}

void viewer_camera::lost(const cli_error& e) {
  if (state_ == state::stopped) return;
  close_socket();
  disarm_due();
  live_ = false;
  state_ = state::waiting;
  // The request under way gets the reason; the ones waiting had no connection.
  auto jobs = std::move(jobs_);
  jobs_.clear();
  const bool was_running = std::exchange(running_, false);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const failure f{i == 0 && was_running, e.what()};
    if (jobs[i].capture_done)
      jobs[i].capture_done(nullptr, &f);
    else if (jobs[i].done)
      jobs[i].done(nullptr, &f);
  }
  if (auto first = std::exchange(first_, nullptr)) {
    state_ = state::stopped;  // the caller reports it; no second try
    return first(&e);
  }
  cb_.status(false, e.what());
  if (stopped_) return finish_stop();
  retry_.expires_after(std::chrono::seconds(1));
  retry_.async_wait([this](std::error_code ec) {
    if (!ec && state_ == state::waiting && !stopped_) connect();
  });
}

void viewer_camera::stop(std::function<void()> done, std::chrono::milliseconds grace) {
  stopped_ = std::move(done);
  auto jobs = std::move(jobs_);
  jobs_.clear();
  running_ = false;
  disarm_due();
  for (auto& j : jobs) {
    const failure f{false, "the viewer is stopping"};
    if (j.capture_done)
      j.capture_done(nullptr, &f);
    else if (j.done)
      j.done(nullptr, &f);
  }
  if (state_ == state::open && live_) {
    stop_tag_ = ++tag_;
    send(msg::stop_live_view{}, stop_tag_);
    grace_.expires_after(grace);
    grace_.async_wait([this](std::error_code ec) {
      if (!ec) finish_stop();
    });
    return;
  }
  asio::post(io_, [this] { finish_stop(); });
}

void viewer_camera::finish_stop() {
  state_ = state::stopped;
  close_socket();
  disarm_due();
  retry_.cancel();
  grace_.cancel();
  if (dialer_) dialer_->cancel();
  if (auto done = std::exchange(stopped_, nullptr)) done();
}

void viewer_camera::close_socket() {
  ++generation_;
  if (socket_) {
    std::error_code ignored;
    socket_->close(ignored);
    socket_.reset();
  }
  out_.clear();
  writing_ = false;
}

}  // namespace tether::cli
