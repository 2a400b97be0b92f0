#include "tools/sim/ptp/ptp_responder.hpp"

#include <gtest/gtest.h>

#include "tools/sim/ptp/nikon_d750.hpp"

namespace tether::sim::ptp {
namespace {

using namespace std::chrono_literals;
using clock = ptp_responder::clock;
const clock::time_point t0 = clock::time_point{} + 1h;

bytes shot_bytes(std::uint64_t shot) { return bytes(1000 + shot, std::byte{0x5a}); }
bytes frame_bytes(std::uint64_t frame) {
  return {std::byte{0xff}, std::byte{0xd8}, static_cast<std::byte>(frame), std::byte{0xff},
          std::byte{0xd9}};
}

// One transaction: the command (and the host's data phase, if given) in, every
// container the camera answered out, with when each became ready.
struct answer {
  std::optional<container> data;
  container response;
  clock::time_point ready_at;
};

class PtpResponder : public ::testing::Test {
 protected:
  ptp_responder cam{nikon_d750(30), {shot_bytes, frame_bytes}};
  std::uint32_t tx = 0;

  answer run(std::uint16_t code, std::vector<std::uint32_t> params = {},
             std::optional<bytes> data_out = {}, clock::time_point now = t0) {
    const std::uint32_t id = tx++;
    cam.receive(encode({container_type::command, code, id, std::move(params), {}}), now);
    if (data_out) {
      // Header and payload in separate transfers, then a zero-length one.
      const bytes wire = encode({container_type::data, code, id, {}, *data_out});
      cam.receive(std::span(wire).first(header_size), now);
      cam.receive(std::span(wire).subspan(header_size), now);
      cam.receive({}, now);
    }
    answer a;
    while (cam.in_pending()) {
      a.ready_at = *cam.in_ready_at();
      const auto front = cam.in_front();
      auto c = decode(front);
      EXPECT_TRUE(c);
      cam.consume(front.size());
      EXPECT_EQ(c->transaction, id);
      if (c->type == container_type::data)
        a.data = *c;
      else
        a.response = *c;
    }
    return a;
  }
  void open() { ASSERT_EQ(run(op::open_session, {1}).response.code, rc::ok); }
};

TEST_F(PtpResponder, DeviceInfoNamesANikonD750WithoutASession) {
  const answer a = run(op::get_device_info);
  EXPECT_EQ(a.response.code, rc::ok);
  ASSERT_TRUE(a.data);
  reader r(a.data->payload);
  EXPECT_EQ(r.u16(), 100);           // standard version
  EXPECT_EQ(r.u32(), vendor_nikon);  // what makes libgphoto2 use its Nikon code
  EXPECT_EQ(r.u16(), 100);
  EXPECT_EQ(r.str(), "Microsoft.com/DeviceServices: 1.0");
  EXPECT_EQ(r.u16(), 0);
  const auto ops = r.u32();
  ASSERT_TRUE(ops);
  for (std::uint32_t i = 0; i < *ops; ++i) r.u16();
  for (int array = 0; array < 4; ++array) {
    const auto n = r.u32();
    ASSERT_TRUE(n);
    for (std::uint32_t i = 0; i < *n; ++i) {
      const auto code = r.u16();
      if (array == 1) {
        EXPECT_LT(*code, 0xd000) << "vendor properties come from 0x90ca only";
      }
    }
  }
  EXPECT_EQ(r.str(), "Nikon Corporation");
  EXPECT_EQ(r.str(), "D750");
}

TEST_F(PtpResponder, SessionRules) {
  EXPECT_EQ(run(op::get_storage_ids).response.code, rc::session_not_open);
  EXPECT_EQ(run(op::open_session, {0}).response.code, rc::invalid_parameter);
  open();
  const answer again = run(op::open_session, {2});
  EXPECT_EQ(again.response.code, rc::session_already_open);
  EXPECT_EQ(again.response.params, std::vector<std::uint32_t>{1});
  EXPECT_EQ(run(0x9999).response.code, rc::operation_not_supported);
  EXPECT_EQ(run(op::close_session).response.code, rc::ok);
  EXPECT_EQ(run(op::get_storage_ids).response.code, rc::session_not_open);
}

TEST_F(PtpResponder, PropertiesReadSetAndRefuse) {
  open();
  const answer v = run(op::get_device_prop_value, {prop::exposure_index});
  ASSERT_TRUE(v.data);
  EXPECT_EQ(v.data->payload, (bytes{std::byte{0x90}, std::byte{0x01}}));  // ISO 400
  const bytes iso800{std::byte{0x20}, std::byte{0x03}};
  EXPECT_EQ(run(op::set_device_prop_value, {prop::exposure_index}, iso800).response.code, rc::ok);
  EXPECT_EQ(run(op::get_device_prop_value, {prop::exposure_index}).data->payload, iso800);
  const bytes iso123{std::byte{123}, std::byte{0}};
  EXPECT_EQ(run(op::set_device_prop_value, {prop::exposure_index}, iso123).response.code,
            rc::invalid_device_prop_value);
  EXPECT_EQ(run(op::set_device_prop_value, {prop::exposure_program_mode}, iso800).response.code,
            rc::access_denied);
  EXPECT_EQ(run(op::set_device_prop_value, {prop::exposure_index}, bytes(3)).response.code,
            rc::invalid_device_prop_format);
  EXPECT_EQ(run(op::get_device_prop_desc, {0x5555}).response.code, rc::device_prop_not_supported);
  // The change is reported through Nikon's event poll.
  const answer ev = run(op::nikon_check_event);
  ASSERT_TRUE(ev.data);
  reader r(ev.data->payload);
  EXPECT_EQ(r.u16(), 1);
  EXPECT_EQ(r.u16(), event::device_prop_changed);
  EXPECT_EQ(r.u32(), prop::exposure_index);
}

TEST_F(PtpResponder, PropDescDataset) {
  open();
  const answer a = run(op::get_device_prop_desc, {prop::exposure_bias_compensation});
  ASSERT_TRUE(a.data);
  reader r(a.data->payload);
  EXPECT_EQ(r.u16(), prop::exposure_bias_compensation);
  EXPECT_EQ(r.u16(), static_cast<std::uint16_t>(data_type::int16));
  EXPECT_EQ(r.uint(1), 1u);  // get/set
  EXPECT_EQ(r.value(data_type::int16), 0);
  EXPECT_EQ(r.value(data_type::int16), 0);
  EXPECT_EQ(r.uint(1), 2u);  // enumeration
  EXPECT_EQ(r.u16(), 31);
  EXPECT_EQ(r.value(data_type::int16), -5000);
}

TEST_F(PtpResponder, VendorPropertiesComeFromGetVendorPropCodes) {
  open();
  const answer a = run(op::nikon_get_vendor_prop_codes);
  ASSERT_TRUE(a.data);
  reader r(a.data->payload);
  EXPECT_EQ(r.u32(), 2u);
  EXPECT_EQ(r.u16(), prop::nikon_live_view_status);
  EXPECT_EQ(r.u16(), prop::nikon_live_view_prohibit_condition);
}

TEST_F(PtpResponder, CaptureAddsAnObjectAndReportsIt) {
  std::string stored;
  cam.on_captured = [&](const std::string& name, const bytes& data) {
    stored = name;
    EXPECT_EQ(data, shot_bytes(1));
  };
  open();
  EXPECT_EQ(run(op::initiate_capture, {0, 0}).response.code, rc::ok);
  EXPECT_EQ(stored, "DSC_0001.JPG");
  // A Nikon queues events for its CheckEvent poll, not the interrupt pipe.
  EXPECT_FALSE(cam.take_event());
  const answer ev = run(op::nikon_check_event);
  ASSERT_TRUE(ev.data);
  reader events(ev.data->payload);
  EXPECT_EQ(events.u16(), 2);
  EXPECT_EQ(events.u16(), event::object_added);
  const std::uint32_t handle = *events.u32();
  EXPECT_EQ(events.u16(), event::capture_complete);
  EXPECT_FALSE(cam.event_pending());
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::device_busy);  // writing the card
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::ok);

  const answer info = run(op::get_object_info, {handle});
  ASSERT_TRUE(info.data);
  reader r(info.data->payload);
  EXPECT_EQ(r.u32(), 0x00010001u);
  EXPECT_EQ(r.u16(), format::exif_jpeg);
  r.u16();
  EXPECT_EQ(r.u32(), 1001u);  // size
  for (int i = 0; i < 7; ++i) r.uint(i < 1 ? 2 : 4);
  EXPECT_EQ(r.u32(), 2u);  // in DCIM/100NCD750
  r.u16();
  r.u32();
  r.u32();
  EXPECT_EQ(r.str(), "DSC_0001.JPG");
  EXPECT_EQ(run(op::get_object, {handle}).data->payload, shot_bytes(1));
  const answer part = run(op::get_partial_object, {handle, 1000, 500});
  EXPECT_EQ(part.data->payload.size(), 1u);
  EXPECT_EQ(part.response.params, std::vector<std::uint32_t>{1});
  const answer handles = run(op::get_object_handles, {0xffffffff, 0, 0});
  EXPECT_EQ(handles.data->payload.size(), 4u + 3 * 4);  // DCIM, folder, picture
  EXPECT_EQ(run(op::delete_object, {handle}).response.code, rc::ok);
  EXPECT_EQ(run(op::get_object, {handle}).response.code, rc::invalid_object_handle);
}

TEST_F(PtpResponder, NikonCaptureToSdramIsFetchedFromTheSdramHandle) {
  open();
  EXPECT_EQ(run(op::nikon_initiate_capture_rec_in_media, {0xfffffffe, 1}).response.code, rc::ok);
  const answer ev = run(op::nikon_check_event);
  reader events(ev.data->payload);
  EXPECT_EQ(events.u16(), 2);
  EXPECT_EQ(events.u16(), event::nikon_object_added_in_sdram);
  EXPECT_EQ(events.u32(), nikon_sdram_object);
  EXPECT_EQ(events.u16(), event::nikon_capture_complete_rec_in_sdram);
  EXPECT_EQ(run(op::get_object, {nikon_sdram_object}).data->payload, shot_bytes(1));
  // Not on the card: the listing has the two folders only.
  EXPECT_EQ(run(op::get_object_handles, {0xffffffff, 0, 0}).data->payload.size(), 4u + 2 * 4);
  EXPECT_EQ(run(op::delete_object, {nikon_sdram_object}).response.code, rc::ok);
}

TEST(PtpResponderEvents, AGenericCameraSendsEventsOnTheInterruptPipe) {
  auto d = nikon_d750(30);
  d.events_on_interrupt = true;
  ptp_responder cam(d, {shot_bytes, frame_bytes});
  cam.receive(encode({container_type::command, op::open_session, 0, {1}, {}}), t0);
  cam.receive(encode({container_type::command, op::initiate_capture, 1, {0, 0}, {}}), t0);
  ASSERT_TRUE(cam.event_pending());
  const auto added = decode(*cam.take_event());
  ASSERT_TRUE(added);
  EXPECT_EQ(added->type, container_type::event);
  EXPECT_EQ(added->code, event::object_added);
  EXPECT_EQ(added->params, std::vector<std::uint32_t>{0x100});
  EXPECT_EQ(decode(*cam.take_event())->code, event::capture_complete);
  EXPECT_FALSE(cam.take_event());
}

TEST_F(PtpResponder, BusyOnCommandThenRecovers) {
  open();
  cam.set_busy(2);
  EXPECT_EQ(run(op::initiate_capture).response.code, rc::device_busy);
  EXPECT_EQ(run(op::set_device_prop_value, {prop::exposure_index}, bytes(2)).response.code,
            rc::device_busy);
  EXPECT_EQ(run(op::initiate_capture).response.code, rc::ok);
  EXPECT_EQ(cam.shots(), 1u);
}

TEST_F(PtpResponder, LiveViewServesEachFrameOnceAtTheCameraRate) {
  open();
  EXPECT_EQ(run(op::nikon_get_live_view_image).response.code, rc::nikon_not_live_view);
  EXPECT_EQ(run(op::nikon_start_live_view).response.code, rc::ok);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::device_busy);  // mirror going up
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::ok);
  EXPECT_EQ(run(op::get_device_prop_value, {prop::nikon_live_view_status}).data->payload,
            bytes{std::byte{1}});

  const answer first = run(op::nikon_get_live_view_image, {}, {}, t0);
  EXPECT_EQ(first.ready_at, t0);
  ASSERT_TRUE(first.data);
  ASSERT_EQ(first.data->payload.size(), 384u + 5);
  EXPECT_EQ(first.data->payload[384], std::byte{0xff});
  EXPECT_EQ(first.data->payload[386], std::byte{1});  // frame 1
  // Asked again at once: frame 2 is ready one frame time (1/30 s) later.
  const answer second = run(op::nikon_get_live_view_image, {}, {}, t0);
  EXPECT_GT(second.ready_at, t0 + 33ms);
  EXPECT_LT(second.ready_at, t0 + 34ms);
  EXPECT_EQ(second.data->payload[386], std::byte{2});
  // A second later the newest frame is number 31: the ones in between were never seen.
  const answer late = run(op::nikon_get_live_view_image, {}, {}, t0 + 1s);
  EXPECT_EQ(late.ready_at, t0 + 1s);
  EXPECT_EQ(late.data->payload[386], std::byte{31});
  EXPECT_EQ(cam.live_view_frames_served(), 3u);
  EXPECT_EQ(cam.live_view_frames_skipped(), 28u);  // frames 3 to 30

  EXPECT_EQ(run(op::nikon_end_live_view).response.code, rc::ok);
  EXPECT_EQ(run(op::nikon_get_live_view_image).response.code, rc::nikon_not_live_view);
}

TEST_F(PtpResponder, LiveViewRateChangesFromNowAndTheNumberingGoesOn) {
  open();
  run(op::nikon_start_live_view);
  EXPECT_EQ(run(op::nikon_get_live_view_image, {}, {}, t0 + 100ms).data->payload[386],
            std::byte{4});  // 1/30 s frames: the fourth is the newest at 100 ms
  cam.set_live_view_fps(100, t0 + 100ms);
  EXPECT_EQ(cam.live_view_fps(), 100);
  // Frame 5 at once, then one every 10 ms: no jump back, none skipped in between.
  const answer fifth = run(op::nikon_get_live_view_image, {}, {}, t0 + 100ms);
  EXPECT_EQ(fifth.ready_at, t0 + 100ms);
  EXPECT_EQ(fifth.data->payload[386], std::byte{5});
  const answer sixth = run(op::nikon_get_live_view_image, {}, {}, t0 + 100ms);
  EXPECT_EQ(sixth.ready_at, t0 + 110ms);
  EXPECT_EQ(sixth.data->payload[386], std::byte{6});
  EXPECT_EQ(run(op::nikon_get_live_view_image, {}, {}, t0 + 200ms).data->payload[386],
            std::byte{15});                            // 100 ms at 100 fps after frame 5
  EXPECT_EQ(cam.live_view_frames_skipped(), 3u + 8u);  // 1 to 3, then 7 to 14
}

TEST_F(PtpResponder, AutofocusHuntsThenReportsReady) {
  open();
  EXPECT_EQ(run(op::nikon_af_drive).response.code, rc::ok);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::device_busy);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::device_busy);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::ok);
  EXPECT_EQ(cam.af_drives(), 1u);
}

TEST_F(PtpResponder, ManualFocusMovesTheLensInLiveViewAndStopsAtTheEnds) {
  open();
  const auto middle = ptp_responder::focus_steps / 2;
  EXPECT_EQ(run(op::nikon_mf_drive, {1, 100}).response.code, rc::nikon_not_live_view);
  EXPECT_EQ(cam.focus_position(), middle);
  run(op::nikon_start_live_view);
  run(op::nikon_device_ready);
  EXPECT_EQ(run(op::nikon_mf_drive, {1, 300}).response.code, rc::ok);  // toward near
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::device_busy);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::ok);
  EXPECT_EQ(cam.focus_position(), middle - 300);
  EXPECT_EQ(run(op::nikon_mf_drive, {2, 500}).response.code, rc::ok);  // toward infinity
  run(op::nikon_device_ready);
  EXPECT_EQ(cam.focus_position(), middle + 200);
  // Past the end the lens stops there, and DeviceReady says so once.
  EXPECT_EQ(run(op::nikon_mf_drive, {2, 1u << 20}).response.code, rc::ok);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::device_busy);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::nikon_mf_drive_step_end);
  EXPECT_EQ(run(op::nikon_device_ready).response.code, rc::ok);
  EXPECT_EQ(cam.focus_position(), ptp_responder::focus_steps);
  EXPECT_EQ(run(op::nikon_mf_drive, {3, 10}).response.code, rc::invalid_parameter);
  EXPECT_EQ(run(op::nikon_mf_drive, {1, 0}).response.code, rc::invalid_parameter);
}

TEST_F(PtpResponder, ResetEndsTheSessionAndDropsHalfACommand) {
  open();
  const bytes wire = encode({container_type::command, op::get_storage_ids, 9, {}, {}});
  cam.receive(std::span(wire).first(6), t0);
  cam.reset();
  EXPECT_FALSE(cam.session_open());
  EXPECT_EQ(run(op::open_session, {3}).response.code, rc::ok);
}

}  // namespace
}  // namespace tether::sim::ptp
