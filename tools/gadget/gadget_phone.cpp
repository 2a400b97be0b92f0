#include "tools/gadget/gadget_phone.hpp"

#include <algorithm>
#include <cstdio>

#include "base/log.hpp"

namespace tether::gadget {
namespace {

std::string hex4(std::uint16_t v) {
  char text[8];
  std::snprintf(text, sizeof text, "%04x", v);
  return text;
}

std::string describe(const usb_ctrlrequest& s) {
  char text[96];
  std::snprintf(text, sizeof text, "bmRequestType 0x%02x bRequest 0x%02x wValue 0x%04x wIndex %u",
                s.bRequestType, s.bRequest, s.wValue, s.wIndex);
  return text;
}

}  // namespace

gadget_phone::gadget_phone(gadget_options o, sim::virtual_phone phone)
    : o_(std::move(o)), slots_(iphone_functions()) {
  const sim::iphone_identity id = phone.identity();
  plan_ = gadget_plan(o_.name, id, slots_);
  mux_ = std::make_unique<mux_function>(std::move(phone), [this] { drain_events_locked(); });
}

gadget_phone::~gadget_phone() { stop(); }

std::string gadget_phone::udid() const { return sim::udid_from_serial(mux_->identity().serial); }

bool gadget_phone::pick_udc(std::string& error) {
  std::error_code ec;
  std::vector<std::string> udcs;
  for (const auto& e : std::filesystem::directory_iterator(o_.udc_class, ec))
    udcs.push_back(e.path().filename().string());
  std::sort(udcs.begin(), udcs.end());
  if (!o_.udc.empty()) {
    if (std::find(udcs.begin(), udcs.end(), o_.udc) != udcs.end()) return true;
    error = "no USB device controller '" + o_.udc + "' in " + o_.udc_class.string() +
            (udcs.empty() ? std::string(" (there is none)") : " (there is " + udcs.front() + ")");
    return false;
  }
  if (udcs.empty()) {
    error = "no USB device controller in " + o_.udc_class.string() +
            ": load a virtual one with 'modprobe dummy_hcd', or put the board's USB port in "
            "device (peripheral) mode";
    return false;
  }
  o_.udc = udcs.front();
  return true;
}

void gadget_phone::remove_leftovers() {
  // A previous run that was killed leaves its gadget bound, its instances mounted and
  // its tree in configfs; the same plan removes it. Errors are expected (ENOENT).
  std::string ignored;
  if (std::filesystem::exists(o_.configfs_root / o_.name)) {
    log::warn("removing gadget " + o_.name + " left by an earlier run");
    bind_udc(o_.configfs_root, o_.name, "", ignored);
  }
  for (const function_slot& s : slots_) unmount_leftover(o_.run_dir / instance_name(o_.name, s));
  undo(o_.configfs_root, plan_, ignored);
}

bool gadget_phone::start(std::string& error) {
  if (!std::filesystem::is_directory(o_.configfs_root)) {
    error = "no configfs gadget directory " + o_.configfs_root.string() +
            ": load the gadget modules (modprobe libcomposite usb_f_fs dummy_hcd) and make "
            "sure configfs is mounted (mount -t configfs none /sys/kernel/config)";
    return false;
  }
  if (!pick_udc(error)) return false;
  remove_leftovers();
  made_ = true;
  if (!apply(o_.configfs_root, plan_, error)) {
    error = "cannot make the gadget in configfs: " + error;
    stop();
    return false;
  }
  const sim::iphone_identity& id = mux_->identity();
  for (const function_slot& s : slots_) {
    const std::string inst = instance_name(o_.name, s);
    functions_.push_back(std::make_unique<ffs_function>(s, inst, o_.run_dir / inst));
    if (!functions_.back()->start(function_blobs(id, s), error)) {
      stop();
      return false;
    }
  }
  for (const auto& f : functions_) {
    if (f->slot().kind != function_kind::usbmux) continue;
    // ep1 is bulk OUT and ep2 bulk IN: the order of the endpoint descriptors.
    const int out = f->open_endpoint(1, error);
    const int in = out < 0 ? -1 : f->open_endpoint(2, error);
    if (in < 0) {
      if (out >= 0) ::close(out);
      stop();
      return false;
    }
    mux_->add_instance(f->slot().configuration, out, in);
  }
  mux_->start();
  if (!plug(error)) {
    stop();
    return false;
  }
  return true;
}

void gadget_phone::stop() {
  if (!made_) return;
  made_ = false;
  if (plugged_) unplug();
  mux_->stop();
  for (auto& f : functions_) f->stop();
  functions_.clear();
  std::string error;
  if (!undo(o_.configfs_root, plan_, error))
    log::warn("the gadget's configfs tree is not all gone: " + error);
  std::error_code ec;
  std::filesystem::remove(o_.run_dir, ec);  // only if empty: the control socket may be there
}

bool gadget_phone::plug(std::string& error) {
  if (plugged_) return true;
  if (!bind_udc(o_.configfs_root, o_.name, o_.udc, error)) {
    error = "cannot bind the gadget to " + o_.udc + ": " + error +
            " (is another gadget bound to it? see " + (o_.configfs_root / "*/UDC").string() + ")";
    return false;
  }
  plugged_ = true;
  const sim::iphone_identity& id = mux_->identity();
  log::info("bound to " + o_.udc + " as " + hex4(sim::apple_vendor_id) + ":" + hex4(id.product_id) +
            " serial " + id.serial + " (UDID " + udid() + ")");
  return true;
}

void gadget_phone::unplug() {
  if (!plugged_) return;
  std::string error;
  if (!bind_udc(o_.configfs_root, o_.name, "", error))
    log::warn("cannot unbind from " + o_.udc + ": " + error);
  plugged_ = false;
  log::info("unbound from " + o_.udc + " (cable pulled)");
}

std::vector<int> gadget_phone::ep0_fds() const {
  std::vector<int> fds;
  for (const auto& f : functions_) fds.push_back(f->ep0());
  return fds;
}

void gadget_phone::on_ep0() {
  std::lock_guard l(mux_->lock());
  drain_events_locked();
}

void gadget_phone::drain_events_locked() {
  for (const auto& f : functions_)
    while (const auto e = f->next_event()) handle_event(*f, *e);
}

void gadget_phone::handle_event(ffs_function& f, const usb_functionfs_event& e) {
  const function_slot& s = f.slot();
  log::debug(f.instance() + ": " + event_name(e.type));
  switch (e.type) {
    case FUNCTIONFS_ENABLE:
      if (s.configuration != configuration_) {
        configuration_ = s.configuration;
        log::info("host chose configuration " + std::to_string(s.configuration) + " (" +
                  configuration_name(mux_->identity(), s.configuration) + ")");
      }
      if (s.kind == function_kind::usbmux) mux_->enabled_locked(s.configuration);
      break;
    case FUNCTIONFS_DISABLE:
    case FUNCTIONFS_UNBIND:
      if (s.configuration == configuration_) configuration_ = 0;
      if (s.kind == function_kind::usbmux) mux_->disabled_locked(s.configuration);
      break;
    case FUNCTIONFS_SETUP:
      // Nothing of an iPhone's interfaces answers class or vendor requests a host
      // needs (ipheth's MAC request fails harmlessly): stall them, as the phone does
      // with what it does not know.
      log::debug(f.instance() + ": stalled " + describe(e.u.setup));
      f.stall(e.u.setup);
      break;
    default: break;
  }
}

void gadget_phone::inject_garbage() {
  mux_->with_phone([](sim::virtual_phone& p) { p.inject_garbage(); });
}

void gadget_phone::reset_connections() {
  mux_->with_phone([](sim::virtual_phone& p) { p.reset_connections(); });
}

void gadget_phone::inject_stale_packet(std::uint16_t port, std::uint16_t host_port) {
  mux_->with_phone([=](sim::virtual_phone& p) { p.inject_stale_packet(port, host_port); });
}

void gadget_phone::set_version_muted(bool muted) {
  mux_->with_phone([=](sim::virtual_phone& p) { p.set_version_muted(muted); });
}

bool gadget_phone::set_app_state(std::uint16_t port, sim::app_state s, std::string& error) {
  bool ok = false;
  mux_->with_phone([&](sim::virtual_phone& p) { ok = p.set_app_state(port, s); });
  if (!ok) error = "no app listens on port " + std::to_string(port) + " of phone " + udid();
  return ok;
}

std::string gadget_phone::stats() {
  std::string out;
  mux_->with_phone([&out](sim::virtual_phone& p) { out = p.stats_text(); });
  return out;
}

void gadget_phone::set_lock(sim::lock_mode m) {
  mux_->with_phone([m](sim::virtual_phone& p) {
    p.set_lock(m == sim::lock_mode::unlocked ? m : sim::lock_mode::locked);
  });
  if (m == sim::lock_mode::hidden) {
    hidden_ = true;
    unplug();
  } else if (m == sim::lock_mode::unlocked && hidden_) {
    hidden_ = false;
    std::string error;
    if (!plug(error)) log::warn("unlocked, but " + error);
  }
}

void gadget_phone::set_control_texts(bool on) {
  mux_->with_phone([on](sim::virtual_phone& p) { p.set_control_texts(on); });
}

void gadget_phone::set_stale_order(sim::stale_order o) {
  mux_->with_phone([o](sim::virtual_phone& p) { p.set_stale_order(o); });
}

void gadget_phone::send_version() {
  mux_->with_phone([](sim::virtual_phone& p) { p.send_version(); });
}

}  // namespace tether::gadget
