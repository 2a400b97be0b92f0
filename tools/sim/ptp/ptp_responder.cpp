#include "tools/sim/ptp/ptp_responder.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace tether::sim::ptp {
namespace {

constexpr std::size_t max_events = 64;  // a body's event buffer: the oldest go first
constexpr std::uint32_t dcim_handle = 1;
constexpr std::uint32_t folder_handle = 2;
// Nikon live-view data starts with a header (lens, focus, level data) before the JPEG;
// libgphoto2 finds the JPEG by its markers. Zeros here: nothing in it looks like one.
constexpr std::size_t nikon_live_view_header = 384;

bool is_vendor_property(std::uint16_t code) { return code >= 0xd000; }

}  // namespace

bool property_desc::allows(std::int64_t v) const {
  switch (form) {
    case form::enumeration: return std::find(values.begin(), values.end(), v) != values.end();
    case form::range: return v >= min && v <= max && (step <= 0 || (v - min) % step == 0);
    case form::none: return true;
  }
  return false;
}

ptp_responder::ptp_responder(camera_description d, picture_source pictures)
    : d_(std::move(d)), pictures_(std::move(pictures)) {
  objects_[dcim_handle] = {0, format::association, "DCIM", {}};
  objects_[folder_handle] = {dcim_handle, format::association, d_.folder, {}};
}

void ptp_responder::receive(std::span<const std::byte> bulk_out, clock::time_point now) {
  assembler_.feed(bulk_out);
  while (auto wire = assembler_.next()) {
    auto c = decode(*wire);
    if (!c) continue;  // a container that does not parse is dropped, as bodies do
    if (c->type == container_type::data) {
      if (awaiting_data_ && c->transaction == awaiting_data_->transaction) {
        const container command = *awaiting_data_;
        awaiting_data_.reset();
        handle(command, &c->payload, now);
      }
      continue;  // data nobody asked for
    }
    if (c->type != container_type::command) continue;
    // SetDevicePropValue carries its value in a data phase from the host.
    if (c->code == op::set_device_prop_value && advertised(c->code) && session_ != 0) {
      awaiting_data_ = *c;
      continue;
    }
    awaiting_data_.reset();  // a new command abandons one whose data never came
    handle(*c, nullptr, now);
  }
  if (assembler_.broken()) assembler_.reset();  // resynchronise on the next transfer
}

void ptp_responder::handle(const container& command, const bytes* data_in, clock::time_point now) {
  reply r = dispatch(command, data_in, now);
  if (r.data) {
    container data{container_type::data, command.code, command.transaction, {}, std::move(*r.data)};
    in_.push_back({encode(data), 0, r.ready_at});
  }
  container response{
      container_type::response, r.code, command.transaction, std::move(r.params), {}};
  in_.push_back({encode(response), 0, r.ready_at});
}

bool ptp_responder::advertised(std::uint16_t code) const {
  return std::find(d_.operations.begin(), d_.operations.end(), code) != d_.operations.end();
}

ptp_responder::reply ptp_responder::dispatch(const container& c, const bytes* data_in,
                                             clock::time_point now) {
  auto param = [&c](std::size_t i) -> std::uint32_t {
    return i < c.params.size() ? c.params[i] : 0;
  };
  auto fail = [](std::uint16_t code) {
    reply r;
    r.code = code;
    return r;
  };
  auto data = [](bytes b) {
    reply r;
    r.data = std::move(b);
    return r;
  };
  if (!advertised(c.code)) return fail(rc::operation_not_supported);
  if (c.code == op::get_device_info) return data(device_info());
  if (c.code == op::open_session) {
    if (param(0) == 0) return fail(rc::invalid_parameter);
    if (session_ != 0) {
      reply r = fail(rc::session_already_open);
      r.params = {session_};
      return r;
    }
    session_ = param(0);
    return {};
  }
  if (session_ == 0) return fail(rc::session_not_open);

  switch (c.code) {
    case op::close_session:
      session_ = 0;
      live_view_ = false;
      return {};
    case op::get_storage_ids: {
      const std::uint32_t ids[] = {d_.storage_id};
      return data(writer().u32_array(ids).take());
    }
    case op::get_storage_info:
      if (param(0) != d_.storage_id) return fail(rc::invalid_storage_id);
      return data(storage_info());
    case op::get_num_objects:
    case op::get_object_handles: {
      const std::uint32_t storage = param(0), fmt = param(1), parent = param(2);
      if (storage != 0xffffffff && storage != d_.storage_id) return fail(rc::invalid_storage_id);
      std::vector<std::uint32_t> handles;
      for (const auto& [h, o] : objects_) {
        if (h == nikon_sdram_object) continue;  // in the camera's memory, not on the card
        if (fmt != 0 && fmt != o.format) continue;
        // Parent 0: every object; 0xffffffff: those in the storage's root.
        if (parent == 0xffffffff ? o.parent != 0 : parent != 0 && o.parent != parent) continue;
        handles.push_back(h);
      }
      if (c.code == op::get_object_handles) return data(writer().u32_array(handles).take());
      reply r;
      r.params = {static_cast<std::uint32_t>(handles.size())};
      return r;
    }
    case op::get_object_info:
    case op::get_object:
    case op::get_partial_object:
    case op::delete_object: {
      auto o = objects_.find(param(0));
      if (o == objects_.end()) return fail(rc::invalid_object_handle);
      if (c.code == op::get_object_info) return data(object_info(o->first, o->second));
      if (c.code == op::get_object) return data(o->second.data);
      if (c.code == op::delete_object) {
        if (o->second.format == format::association) return fail(rc::access_denied);
        objects_.erase(o);
        return {};
      }
      const auto& b = o->second.data;
      const std::size_t offset = std::min<std::size_t>(param(1), b.size());
      const std::size_t n = std::min<std::size_t>(param(2), b.size() - offset);
      reply r = data(bytes(b.begin() + static_cast<std::ptrdiff_t>(offset),
                           b.begin() + static_cast<std::ptrdiff_t>(offset + n)));
      r.params = {static_cast<std::uint32_t>(n)};
      return r;
    }
    case op::initiate_capture:
    case op::nikon_initiate_capture_rec_in_media:
      if (busy_ > 0) {
        --busy_;
        return fail(rc::device_busy);
      }
      return capture(c.code == op::nikon_initiate_capture_rec_in_media && param(1) == 1);
    case op::get_device_prop_desc:
    case op::get_device_prop_value: {
      const property_desc* p = property(static_cast<std::uint16_t>(param(0)));
      if (p == nullptr) return fail(rc::device_prop_not_supported);
      if (c.code == op::get_device_prop_desc) return data(prop_desc(*p));
      return data(writer().value(p->type, p->current).take());
    }
    case op::set_device_prop_value:
      if (data_in == nullptr) return fail(rc::invalid_parameter);
      if (busy_ > 0) {
        --busy_;
        return fail(rc::device_busy);
      }
      return set_property(static_cast<std::uint16_t>(param(0)), *data_in);
    case op::nikon_get_vendor_prop_codes: {
      std::vector<std::uint16_t> codes;
      for (const auto& p : d_.properties)
        if (is_vendor_property(p.code)) codes.push_back(p.code);
      return data(writer().u16_array(codes).take());
    }
    case op::nikon_check_event: {
      writer w;
      w.u16(static_cast<std::uint16_t>(events_.size()));
      for (const auto& [code, p] : events_) w.u16(code).u32(p);
      events_.clear();
      return data(w.take());
    }
    case op::nikon_device_ready:
      if (not_ready_ > 0) {
        --not_ready_;
        return fail(rc::device_busy);
      }
      if (ready_result_ != rc::ok) return fail(std::exchange(ready_result_, rc::ok));
      return {};
    case op::nikon_af_drive:
      // The lens hunts for two DeviceReady polls, then reports focus found.
      ++af_drives_;
      not_ready_ = 2;
      return {};
    case op::nikon_mf_drive: {
      // Manual focus moves the lens by drive steps, in live view only; at either end it
      // stops there and DeviceReady says so, as a D750 does.
      if (!live_view_) return fail(rc::nikon_not_live_view);
      const std::uint32_t direction = param(0), amount = param(1);
      if ((direction != 1 && direction != 2) || amount == 0) return fail(rc::invalid_parameter);
      const std::int64_t target = static_cast<std::int64_t>(focus_position_) +
                                  (direction == 1 ? -1 : 1) * static_cast<std::int64_t>(amount);
      focus_position_ =
          static_cast<std::uint32_t>(std::clamp<std::int64_t>(target, 0, focus_steps));
      if (target != focus_position_) ready_result_ = rc::nikon_mf_drive_step_end;
      not_ready_ = 1;
      return {};
    }
    case op::nikon_start_live_view:
      if (!live_view_) {
        live_view_ = true;
        not_ready_ = 1;  // the mirror goes up: one "busy" from DeviceReady
        live_view_start_ = now;
        last_frame_ = 0;
        frame_base_ = 0;
        if (auto* p = property(prop::nikon_live_view_status)) p->current = 1;
      }
      return {};
    case op::nikon_end_live_view:
      live_view_ = false;
      if (auto* p = property(prop::nikon_live_view_status)) p->current = 0;
      return {};
    case op::nikon_get_live_view_image:
      if (!live_view_) return fail(rc::nikon_not_live_view);
      return live_view_image(now);
    default: return fail(rc::operation_not_supported);
  }
}

ptp_responder::reply ptp_responder::capture(bool to_sdram) {
  ++shots_;
  char name[32];
  std::snprintf(name, sizeof name, "%s%04u.JPG", d_.file_prefix.c_str(),
                static_cast<unsigned>(shots_ % 10000));
  object o{to_sdram ? 0u : folder_handle, format::exif_jpeg, name,
           pictures_.capture ? pictures_.capture(shots_) : bytes{}};
  if (on_captured) on_captured(o.name, o.data);
  const std::uint32_t handle = to_sdram ? nikon_sdram_object : next_handle_++;
  objects_[handle] = std::move(o);
  if (to_sdram) {
    queue_event(event::nikon_object_added_in_sdram, handle);
    queue_event(event::nikon_capture_complete_rec_in_sdram, 0);
  } else {
    queue_event(event::object_added, handle);
    queue_event(event::capture_complete, 0);
  }
  not_ready_ = 1;  // the shutter and the write take a moment
  ready_result_ = rc::ok;
  live_view_ = false;  // the shutter ends live view on a DSLR; the host restarts it
  if (auto* p = property(prop::nikon_live_view_status)) p->current = 0;
  return {};
}

void ptp_responder::set_live_view_fps(double fps, clock::time_point now) {
  // The numbering goes on from the last frame served, at the new pace from now.
  d_.live_view_fps = fps;
  live_view_start_ = now;
  frame_base_ = last_frame_;
}

ptp_responder::reply ptp_responder::live_view_image(clock::time_point now) {
  // Frames appear at the camera's rate; each is served once. A request before the next
  // frame exists is answered when it does, as the sensor readout paces a real body.
  const auto interval = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(1.0 / (d_.live_view_fps > 0 ? d_.live_view_fps : 30)));
  const auto newest =
      frame_base_ + static_cast<std::uint64_t>((now - live_view_start_) / interval) + 1;
  reply r;
  if (newest > last_frame_) {
    frames_skipped_ += newest - last_frame_ - 1;  // made while nobody asked
    last_frame_ = newest;
    r.ready_at = now;
  } else {
    ++last_frame_;
    r.ready_at =
        live_view_start_ + interval * static_cast<std::int64_t>(last_frame_ - frame_base_ - 1);
  }
  ++frames_served_;
  bytes b(nikon_live_view_header);
  if (pictures_.live_view) {
    const bytes jpeg = pictures_.live_view(last_frame_);
    b.insert(b.end(), jpeg.begin(), jpeg.end());
  }
  r.data = std::move(b);
  return r;
}

ptp_responder::reply ptp_responder::set_property(std::uint16_t code, const bytes& data) {
  reply r;
  property_desc* p = property(code);
  if (p == nullptr) {
    r.code = rc::device_prop_not_supported;
    return r;
  }
  if (!p->writable) {
    r.code = rc::access_denied;
    return r;
  }
  reader in(data);
  const auto v = in.value(p->type);
  if (!v || in.left() != 0) {
    r.code = rc::invalid_device_prop_format;
    return r;
  }
  if (!p->allows(*v)) {
    r.code = rc::invalid_device_prop_value;
    return r;
  }
  if (p->current != *v) {
    p->current = *v;
    queue_event(event::device_prop_changed, code);
  }
  return r;
}

void ptp_responder::queue_event(std::uint16_t code, std::uint32_t param) {
  if (events_.size() == max_events) events_.pop_front();
  events_.emplace_back(code, param);
}

std::optional<bytes> ptp_responder::take_event() {
  if (events_.empty() || !d_.events_on_interrupt) return std::nullopt;
  const auto [code, param] = events_.front();
  events_.pop_front();
  return encode({container_type::event, code, 0, {param}, {}});
}

std::optional<ptp_responder::clock::time_point> ptp_responder::in_ready_at() const {
  if (in_.empty()) return std::nullopt;
  return in_.front().ready_at;
}

std::span<const std::byte> ptp_responder::in_front() const {
  if (in_.empty()) return {};
  return std::span<const std::byte>(in_.front().wire).subspan(in_.front().sent);
}

void ptp_responder::consume(std::size_t n) {
  if (in_.empty()) return;
  auto& f = in_.front();
  f.sent = std::min(f.wire.size(), f.sent + n);
  if (f.sent == f.wire.size()) in_.pop_front();
}

void ptp_responder::reset() {
  assembler_.reset();
  awaiting_data_.reset();
  in_.clear();
  session_ = 0;
  live_view_ = false;
  not_ready_ = 0;
  ready_result_ = rc::ok;
}

const property_desc* ptp_responder::find_property(std::uint16_t code) const {
  for (const auto& p : d_.properties)
    if (p.code == code) return &p;
  return nullptr;
}

property_desc* ptp_responder::property(std::uint16_t code) {
  return const_cast<property_desc*>(find_property(code));
}

bytes ptp_responder::device_info() const {
  std::vector<std::uint16_t> props;
  for (const auto& p : d_.properties)
    if (!is_vendor_property(p.code) || d_.vendor_extension_id != vendor_nikon)
      props.push_back(p.code);
  writer w;
  w.u16(100).u32(d_.vendor_extension_id).u16(100).str(d_.vendor_extension_desc).u16(0);
  w.u16_array(d_.operations).u16_array(d_.events).u16_array(props);
  w.u16_array(d_.capture_formats).u16_array(d_.image_formats);
  w.str(d_.manufacturer).str(d_.model).str(d_.device_version).str(d_.serial);
  return w.take();
}

bytes ptp_responder::storage_info() const {
  std::uint64_t used = 0;
  for (const auto& [h, o] : objects_)
    if (h != nikon_sdram_object) used += o.data.size();
  const std::uint64_t capacity = 32ull << 30;
  writer w;
  // Removable RAM (a card), DCF (DCIM) file system, read-write.
  w.u16(0x0004).u16(0x0003).u16(0x0000).u64(capacity).u64(capacity - used);
  w.u32(static_cast<std::uint32_t>((capacity - used) / (8 << 20)));
  w.str("").str(d_.storage_label);
  return w.take();
}

bytes ptp_responder::object_info(std::uint32_t, const object& o) const {
  const bool folder = o.format == format::association;
  writer w;
  w.u32(d_.storage_id).u16(o.format).u16(0).u32(static_cast<std::uint32_t>(o.data.size()));
  w.u16(0).u32(0).u32(0).u32(0);  // no thumbnail
  w.u32(folder ? 0 : 6016).u32(folder ? 0 : 4016).u32(folder ? 0 : 24);
  w.u32(o.parent).u16(folder ? 0x0001 : 0).u32(0).u32(0);  // generic folder
  w.str(o.name).str("20240601T120000").str("20240601T120000").str("");
  return w.take();
}

bytes ptp_responder::prop_desc(const property_desc& p) const {
  writer w;
  w.u16(p.code).u16(static_cast<std::uint16_t>(p.type)).u8(p.writable ? 1 : 0);
  w.value(p.type, p.factory).value(p.type, p.current).u8(static_cast<std::uint8_t>(p.form));
  if (p.form == property_desc::form::range) {
    w.value(p.type, p.min).value(p.type, p.max).value(p.type, p.step);
  } else if (p.form == property_desc::form::enumeration) {
    w.u16(static_cast<std::uint16_t>(p.values.size()));
    for (auto v : p.values) w.value(p.type, v);
  }
  return w.take();
}

}  // namespace tether::sim::ptp
