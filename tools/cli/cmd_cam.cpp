// tether cam: drive tether-camera from this machine over its local socket, with the
// same protocol a phone app speaks: properties, capture and download, focus, live view.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tools/cli/cam_client.hpp"
#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"

namespace tether::cli {

namespace cam = proto::camera;
namespace msg = proto::camera::messages;

int run_cam_props(const cam_options& c) {
  cam_client cl(c);
  const auto reply = cl.request(msg::get_properties{c.name});
  const auto* p = std::get_if<msg::properties>(&reply);
  if (p == nullptr) throw cli_error(failed, cl.peer() + " answered get_properties oddly");
  std::vector<std::vector<std::string>> rows{{"PROPERTY", "VALUE", "ALLOWED"}};
  for (const auto& item : p->items) {
    std::string allowed;
    for (const auto& a : item.allowed) allowed += (allowed.empty() ? "" : " ") + a;
    rows.push_back({item.name, item.value, item.writable ? allowed : "(read-only)"});
  }
  print_table(rows);
  return ok;
}

int run_cam_set(const cam_options& c, const std::string& value) {
  cam_client cl(c);
  const auto reply = cl.request(msg::set_property{c.name, value});
  const auto* s = std::get_if<msg::property_set>(&reply);
  if (s == nullptr) throw cli_error(failed, cl.peer() + " answered set_property oddly");
  std::printf("%s: asked %s, camera applied %s\n", s->name.c_str(), s->requested.c_str(),
              s->applied.c_str());
  return s->applied == s->requested ? ok : failed;
}

int run_cam_focus(const cam_options& c, const std::string& how, const std::string& size) {
  cam_client cl(c);
  if (how == "auto") {
    cl.request(msg::autofocus{});
  } else {
    msg::focus_step step;
    step.direction = how == "near" ? msg::focus_direction::near : msg::focus_direction::far;
    step.size = size == "large"    ? msg::focus_size::large
                : size == "medium" ? msg::focus_size::medium
                                   : msg::focus_size::small;
    cl.request(step);
  }
  return ok;
}

int run_cam_capture(const cam_options& c, const std::string& out_dir) {
  cam_client cl(c);
  const bool live = stderr_is_terminal();
  const auto saved =
      capture_to(cl, out_dir, {}, [live](const saved_capture& s, std::uint64_t total) {
        if (live)
          std::fprintf(
              stderr, "\r\033[K%s: %s of %s (%llu%%)", s.file_name.c_str(),
              bytes_text(s.size).c_str(), bytes_text(total).c_str(),
              static_cast<unsigned long long>(100 * s.size / std::max<std::uint64_t>(total, 1)));
      });
  if (live) std::fputs("\n", stderr);
  std::printf("%s (%s, %s)\n", saved.path.c_str(), saved.mime_type.c_str(),
              bytes_text(saved.size).c_str());
  return ok;
}

int run_cam_liveview(const cam_options& c, const std::string& out_dir, unsigned frames,
                     const std::string& mjpeg) {
  cam_client cl(c);
  // --mjpeg -: the frames go to standard output (for a player: `| ffplay -f mjpeg -`),
  // and the summary to standard error. A player that quits ends live view early.
  const bool to_stdout = mjpeg == "-";
  std::FILE* mjpeg_out = nullptr;
  if (to_stdout) {
    std::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an EPIPE to report, not a death
    mjpeg_out = stdout;
  } else if (!mjpeg.empty()) {
    mjpeg_out = std::fopen(mjpeg.c_str(), "wb");
    if (mjpeg_out == nullptr)
      throw cli_error(failed, "cannot write " + mjpeg + ": " + std::strerror(errno));
  }
  std::FILE* report = to_stdout ? stderr : stdout;
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
  // Two frames in flight keep the link busy while this side writes files, and no more
  // can wait in buffers on the way (PROTOCOL.md §6.2).
  cl.request(msg::start_live_view{2});
  // Ctrl-C ends live view with the summary, not mid-line with nothing said.
  struct sigaction on_int {};
  on_int.sa_handler = [](int) { cam_client::interrupt_waits(); };
  ::sigaction(SIGINT, &on_int, nullptr);  // no SA_RESTART: the wait in poll() ends
  bool interrupted_by_user = false;
  std::string ended_early;  // the camera went away: said after the summary
  const bool live = stderr_is_terminal();
  const auto start = std::chrono::steady_clock::now();
  unsigned got = 0, gaps = 0;
  std::uint32_t last = 0;
  std::vector<double> ages_ms;
  while (got < frames) {
    std::pair<proto::camera::message, std::uint32_t> next;
    try {
      next = cl.next();
    } catch (const cli_error& e) {
      if (e.code != interrupted) throw;
      interrupted_by_user = true;
      break;
    }
    auto& [m, tag] = next;
    if (const auto* lost = std::get_if<msg::camera_lost>(&m)) {
      ended_early = "the camera went away" + (lost->reason.empty() ? "" : ": " + lost->reason);
      break;
    }
    const auto* f = std::get_if<msg::live_view_frame>(&m);
    if (f == nullptr) continue;
    // Frame age: tether-camera stamps frames with this machine's monotonic clock.
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    ages_ms.push_back(static_cast<double>(now_us - static_cast<std::int64_t>(f->timestamp_us)) /
                      1000.0);
    if (got > 0 && f->sequence != last + 1) ++gaps;
    last = f->sequence;
    ++got;
    if (!out_dir.empty()) {
      char name[32];
      std::snprintf(name, sizeof name, "frame-%06u.jpg", f->sequence);
      std::ofstream(std::filesystem::path(out_dir) / name, std::ios::binary)
          .write(reinterpret_cast<const char*>(f->jpeg.data()),
                 static_cast<std::streamsize>(f->jpeg.size()));
    }
    if (mjpeg_out != nullptr &&
        (std::fwrite(f->jpeg.data(), 1, f->jpeg.size(), mjpeg_out) != f->jpeg.size() ||
         (to_stdout && std::fflush(mjpeg_out) != 0))) {
      const int err = errno;
      if (!to_stdout) throw cli_error(failed, "cannot write " + mjpeg + ": " + std::strerror(err));
      std::fprintf(stderr, "standard output closed (%s): live view ends\n", std::strerror(err));
      break;
    }
    cl.notify(msg::live_view_ack{f->sequence});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (live)
      std::fprintf(stderr, "\r\033[K%u frames %ux%u, %.1f fps, age %.1f ms", got, f->width,
                   f->height, seconds > 0 ? got / seconds : 0.0, ages_ms.back());
  }
  if (!interrupted_by_user) cl.request(msg::stop_live_view{}, {});
  if (live) std::fputs("\n", stderr);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(ages_ms.begin(), ages_ms.end());
  if (mjpeg_out != nullptr && !to_stdout && std::fclose(mjpeg_out) != 0)
    throw cli_error(failed, "cannot write " + mjpeg + ": " + std::strerror(errno));
  std::fprintf(report, "%u frames in %.2f s: %.1f fps, %u skipped, frame age median %.1f ms\n", got,
               seconds, got / seconds, gaps, ages_ms.empty() ? 0.0 : ages_ms[ages_ms.size() / 2]);
  if (!ended_early.empty()) throw cli_error(no_phone, ended_early);
  return ok;
}

}  // namespace tether::cli
