// tether: the command line for phones on USB, in the spirit of adb and iproxy. The
// usbmuxd-level commands (list, watch, connect, forward run) work with any usbmuxd;
// forward add/list/remove, reverse, info, pair and log-level need tetherd.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/mux_client.hpp"
#include "tools/cli/usage_errors.hpp"

namespace {

const char* const exit_codes =
    "Exit status: 0 done, 1 failed, 2 bad usage, 3 daemon not reachable, 4 no such phone\n"
    "(or several and no --udid), 5 port closed on the phone, 6 the daemon is not tetherd.\n"
    "The daemon is at --socket, else $USBMUXD_SOCKET_ADDRESS (UNIX:/path or HOST:PORT), else\n"
    "/var/run/usbmuxd.";

}  // namespace

int main(int argc, char** argv) {
  using namespace tether::cli;
  CLI::App app{"Phones on USB: list them, watch them, reach their ports.", "tether"};
  app.footer(exit_codes);
  app.require_subcommand(1);
  app.set_version_flag("--version", "tether " TETHER_VERSION);
  global_options g;
  app.add_option("--socket", g.socket, "the daemon's socket: PATH, UNIX:PATH or HOST:PORT");
  app.add_option("--udid", g.udid, "the phone to use when several are attached");

  auto* list = app.add_subcommand("list", "the attached phones")->fallthrough();
  list->add_flag("--json", g.json, "JSON instead of a table");

  auto* watch =
      app.add_subcommand("watch", "attach, detach and pair events as they happen")->fallthrough();
  watch->add_flag("--json", g.json, "one JSON object per line");

  std::uint16_t port = 0;
  int linger_ms = 500;
  auto* connect =
      app.add_subcommand("connect", "standard input and output to a phone port")->fallthrough();
  connect->add_option("PORT", port, "the port on the phone")->required()->check(port_number());
  connect
      ->add_option("--linger", linger_ms,
                   "after input ends, how long (ms) to wait for the phone's last bytes")
      ->check(CLI::Range(0, 600000));

  std::string name;  // forward remove, reverse remove
  forward_args fa;
  auto* forward = app.add_subcommand("forward", "port forwards: local TCP port to phone port");
  forward->require_subcommand(1);
  auto add_ports = [&fa](CLI::App* c) {
    c->add_option("LOCAL", fa.local_port, "local port (0 picks a free one and reports it)")
        ->required();
    c->add_option("PHONE", fa.phone_port, "port the phone app listens on")
        ->required()
        ->check(port_number());
    c->add_option("--address", fa.address, "local address to listen on (default 127.0.0.1)");
    c->fallthrough();
  };
  auto* fadd = forward->add_subcommand(
      "add", "have tetherd keep a forward (survives replugs, restarts and reboots)");
  add_ports(fadd);
  fadd->add_option("--name", fa.name, "the forward's name (default: its local port)");
  fadd->add_flag("--any-phone", fa.any_phone,
                 "no --udid on purpose: serve whichever phone is the only one attached");
  fadd->add_flag("--json", g.json, "JSON instead of a line");
  auto* flist =
      forward->add_subcommand("list", "tetherd's forwards, with state and counters")->fallthrough();
  flist->add_flag("--json", g.json, "JSON instead of a table");
  auto* fremove =
      forward->add_subcommand("remove", "stop one of tetherd's forwards")->fallthrough();
  fremove->add_option("NAME", name, "the forward's name (see forward list)")->required();
  auto* frun = forward->add_subcommand(
      "run", "forward from this process until interrupted, like iproxy (any usbmuxd)");
  add_ports(frun);
  forward->fallthrough();

  reverse_args ra;
  auto* reverse = app.add_subcommand(
      "reverse", "reverse channels: a phone app's port reaches a service on this board");
  reverse->require_subcommand(1);
  auto* radd = reverse->add_subcommand(
      "add", "have tetherd keep connections open to the app, each joined to LOCAL");
  radd->add_option("PHONE", ra.phone_port,
                   "port the phone app listens on (its accept is a connect)")
      ->required()
      ->check(port_number());
  radd->add_option("LOCAL", ra.local_port, "port of the board's service")
      ->required()
      ->check(port_number());
  radd->add_option("--address", ra.address, "address of the board's service (default 127.0.0.1)");
  radd->add_option("--name", ra.name, "the reverse's name (default: r and the phone port)");
  radd->add_option("--spares", ra.spares, "connections kept waiting on each phone, 1 to 8")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  radd->add_flag("--json", g.json, "JSON instead of a line");
  radd->footer(
      "Without --udid, every phone attached gets its own spares. The app tells a reverse\n"
      "line by its port: every connection it accepts there is one. A line counts as taken\n"
      "when the app first writes to it; tetherd then opens another spare.");
  radd->fallthrough();
  auto* rlist =
      reverse->add_subcommand("list", "tetherd's reverses, with state and counters")->fallthrough();
  rlist->add_flag("--json", g.json, "JSON instead of a table");
  auto* rremove =
      reverse->add_subcommand("remove", "stop one of tetherd's reverses")->fallthrough();
  rremove->add_option("NAME", name, "the reverse's name (see reverse list)")->required();
  reverse->fallthrough();

  auto* info = app.add_subcommand("info",
                                  "one phone in detail: link, counters, connections, "
                                  "forwards and reverses (tetherd)")
                   ->fallthrough();
  info->add_flag("--json", g.json, "JSON instead of text");

  int pair_wait = 200;
  auto* pair =
      app.add_subcommand("pair", "pair a phone now (the Trust dialog) and wait for the answer")
          ->fallthrough();
  pair->add_option("--wait", pair_wait, "seconds to wait for Trust to be tapped")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));

  std::string level;
  auto* log_level = app.add_subcommand("log-level", "change tetherd's log level")->fallthrough();
  log_level->add_option("LEVEL", level, "error, warn, info or debug")
      ->required()
      ->check(one_of({"error", "warn", "info", "debug"}));

  cam_options co;
  std::string cam_value, focus_how, focus_size = "small", out_dir = ".", mjpeg;
  unsigned frames = 100;
  auto* cam = app.add_subcommand("cam",
                                 "the camera behind tether-camera: properties, capture, "
                                 "focus, live view");
  cam->add_option("--camera", co.socket, "tether-camera's local socket")->capture_default_str();
  cam->add_option("--phone", co.phone_port,
                  "the camera is an app on the phone listening on PORT (a phone as camera)")
      ->check(port_number());
  cam->require_subcommand(1);
  auto* cprops = cam->add_subcommand("props", "properties with their values and allowed values");
  cprops->add_option("NAME", co.name, "just this one");
  auto* cset = cam->add_subcommand("set", "set a property; prints the value the camera applied");
  cset->add_option("NAME", co.name, "iso, shutter_speed, aperture, ...")->required();
  cset->add_option("VALUE", cam_value, "one of its allowed values")->required();
  auto* cfocus = cam->add_subcommand("focus", "autofocus, or a manual step");
  cfocus->add_option("HOW", focus_how, "auto, near or far")
      ->required()
      ->check(one_of({"auto", "near", "far"}));
  cfocus->add_option("--size", focus_size, "step size: small, medium or large")
      ->check(one_of({"small", "medium", "large"}));
  auto* ccapture = cam->add_subcommand("capture", "take a picture and download it");
  ccapture->add_option("--out", out_dir, "folder for the file")->capture_default_str();
  auto* clive = cam->add_subcommand("liveview", "receive live view; prints fps and frame age");
  clive->add_option("--frames", frames, "how many frames")->capture_default_str();
  clive->add_option("--out", out_dir, "folder for the frames (JPEG files)");
  clive->add_option("--mjpeg", mjpeg, "also write them to one MJPEG file");
  view_options vo;
  auto* cview = cam->add_subcommand(
      "view", "serve live view and the main controls to a web browser, until Ctrl-C");
  cview->add_option("--listen", vo.listen, "ADDRESS:PORT to serve on (port 0: any free one)")
      ->capture_default_str();
  cview->add_flag("--allow-remote", vo.allow_remote,
                  "allow an address other than loopback: there is no login, so anyone who "
                  "can reach it controls the camera");
  cview->add_option("--out", vo.out_dir, "folder for captures")->capture_default_str();
  cview->footer(
      "Open the printed address: live view with fps and frame age, the properties as\n"
      "drop-downs (showing the value the camera applied), Capture with a download link,\n"
      "Autofocus and focus steps. Paths: /stream.mjpg, the MJPEG stream alone (a slow\n"
      "client gets fewer frames, never older ones); JSON: GET /api/properties, /api/stats,\n"
      "/api/capture/latest (the file); POST /api/set {name, value}, /api/focus {how,\n"
      "size}, /api/capture {}. The viewer is one more controller of tether-camera, next\n"
      "to phones and other `tether cam` commands.");

  // cam's options may come after its command, as people type them
  // (`tether cam props iso --camera X`).
  for (auto* sub : cam->get_subcommands([](CLI::App*) { return true; })) sub->fallthrough();

  chat_options cho;
  auto* chat = app.add_subcommand("chat",
                                  "a group chat room on a local TCP port, for nc and phone "
                                  "apps, until Ctrl-C")
                   ->fallthrough();
  chat->add_option("--port", cho.port, "TCP port to listen on (0: any free one, logged)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            return s.size() <= 5 && s.find_first_not_of("0123456789") == std::string::npos &&
                           std::stoul("0" + s) <= 65535
                       ? std::string()
                       : "a port is a number from 0 to 65535 (0: any free one), not '" + s + "'";
          },
          "0-65535"));
  chat->add_option("--address", cho.address, "local address to listen on")->capture_default_str();
  chat->add_flag("--allow-remote", cho.allow_remote,
                 "allow an address other than loopback: there is no login, so anyone who "
                 "can reach it joins and reads along");
  chat->footer(
      "Lines end with \\n (\\r\\n too). A client says iam:NAME to join (1 to 32 letters,\n"
      "digits, '-', '_' or '.'; said again, it renames) and msg:TEXT to speak. Everyone\n"
      "joined hears, in one order: NAME has joined / NAME: TEXT / OLD is now NEW /\n"
      "NAME has left (or NAME has left (too slow to read)); a bad line is answered with\n"
      "one line, error: and what to do. Try nc 127.0.0.1 12345. Bounds: 64 connections,\n"
      "1024-byte lines, 64 KiB of unread output per client (a client that reads slower\n"
      "is dropped; the others never wait for it). One log line per event on stderr.");

  if (const auto mistake = command_mistake(app, argc, argv)) {
    std::fprintf(stderr, "tether: %s\n", mistake->c_str());
    return usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::fprintf(stderr, "%s\n", explain(app, argc, argv, e).c_str());
    return usage;
  }

  // The daemon's address is settled once, here, for every subcommand: --socket, else
  // $USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd. (Each used to do it itself, and
  // `cam --phone` forgot to.)
  const char* env_address = std::getenv("USBMUXD_SOCKET_ADDRESS");
  g.default_socket = g.socket.empty() && (env_address == nullptr || *env_address == '\0');
  g.socket = daemon_address(g.socket);
  co.daemon = g;
  try {
    if (*list) return run_list(g);
    if (*watch) return run_watch(g);
    if (*connect) return run_connect(g, port, std::chrono::milliseconds(linger_ms));
    if (*fadd) return run_forward_add(g, fa);
    if (*flist) return run_forward_list(g);
    if (*fremove) return run_forward_remove(g, name);
    if (*frun) return run_forward_foreground(g, fa);
    if (*radd) return run_reverse_add(g, ra);
    if (*rlist) return run_reverse_list(g);
    if (*rremove) return run_reverse_remove(g, name);
    if (*info) return run_info(g);
    if (*log_level) return run_log_level(g, level);
    if (*pair) return run_pair(g, std::chrono::seconds(pair_wait));
    if (*cprops) return run_cam_props(co);
    if (*cset) return run_cam_set(co, cam_value);
    if (*cfocus) return run_cam_focus(co, focus_how, focus_size);
    if (*ccapture) return run_cam_capture(co, out_dir);
    if (*clive) return run_cam_liveview(co, clive->count("--out") ? out_dir : "", frames, mjpeg);
    if (*cview) return run_cam_view(co, vo);
    if (*chat) return run_chat(cho);
  } catch (const cli_error& e) {
    std::fprintf(stderr, "tether: %s\n", e.what());
    return e.code;
  }
  return failed;
}
