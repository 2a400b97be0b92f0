// tetherd's control requests and replies from both sides: what the CLI encodes, the
// daemon decodes, and what the daemon encodes, the CLI decodes, field for field. Both
// sides use one field list per message, so a field renamed on one side shows here.
#include <gtest/gtest.h>

#include "proto/plist_util.hpp"
#include "proto/tetherd/control.hpp"

namespace tether::proto::tetherd {
namespace {

request round_trip(const request& r) {
  plist_ptr dict(encode(r));
  auto decoded = decode(dict.get(), string_item(dict.get(), "MessageType").value_or(""));
  EXPECT_TRUE(decoded) << decoded.describe();
  return decoded ? *decoded : request{};
}

TEST(TetherControlBothSides, EveryRequestReadsBackAsSent) {
  const forward_spec spec{.name = "cam",
                          .bind_address = "::1",
                          .local_port = 9345,
                          .phone_port = 2351,
                          .udid = "00008030-001A2B3C4D5E6F70"};
  const auto add = std::get<requests::forward_add>(round_trip(requests::forward_add{spec}));
  EXPECT_EQ(add.spec.name, spec.name);
  EXPECT_EQ(add.spec.bind_address, spec.bind_address);
  EXPECT_EQ(add.spec.local_port, spec.local_port);
  EXPECT_EQ(add.spec.phone_port, spec.phone_port);
  EXPECT_EQ(add.spec.udid, spec.udid);
  // Optional fields left empty are left out, and the daemon's defaults apply.
  const auto bare = std::get<requests::forward_add>(round_trip(requests::forward_add{
      {.name = "", .bind_address = "127.0.0.1", .local_port = 0, .phone_port = 22, .udid = ""}}));
  EXPECT_EQ(bare.spec.name, "");
  EXPECT_EQ(bare.spec.phone_port, 22);
  EXPECT_EQ(std::get<requests::forward_remove>(round_trip(requests::forward_remove{"cam"})).name,
            "cam");
  EXPECT_EQ(std::get<requests::set_log_level>(round_trip(requests::set_log_level{"debug"})).level,
            "debug");
  EXPECT_TRUE(std::holds_alternative<requests::forward_list>(round_trip(requests::forward_list{})));
  EXPECT_TRUE(std::holds_alternative<requests::status>(round_trip(requests::status{})));
}

forward_status sample_forward() {
  forward_status f;
  f.spec = {.name = "ssh",
            .bind_address = "127.0.0.1",
            .local_port = 0,
            .phone_port = 22,
            .udid = "00008030-001A2B3C4D5E6F70"};
  f.bound_port = 40123;
  f.state = "waiting for the app";
  f.last_error = "port 22 closed on the phone";
  f.clients_active = 1;
  f.clients_total = 7;
  f.connect_failures = 2;
  f.bytes_to_phone = 1ull << 40;
  f.bytes_from_phone = 12345;
  return f;
}

void expect_same(const forward_status& a, const forward_status& b) {
  EXPECT_EQ(a.spec.name, b.spec.name);
  EXPECT_EQ(a.spec.bind_address, b.spec.bind_address);
  EXPECT_EQ(a.spec.local_port, b.spec.local_port);
  EXPECT_EQ(a.spec.phone_port, b.spec.phone_port);
  EXPECT_EQ(a.spec.udid, b.spec.udid);
  EXPECT_EQ(a.bound_port, b.bound_port);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.clients_active, b.clients_active);
  EXPECT_EQ(a.clients_total, b.clients_total);
  EXPECT_EQ(a.connect_failures, b.connect_failures);
  EXPECT_EQ(a.bytes_to_phone, b.bytes_to_phone);
  EXPECT_EQ(a.bytes_from_phone, b.bytes_from_phone);
}

TEST(TetherControlBothSides, ForwardRepliesReadBackAsSent) {
  const auto f = sample_forward();
  plist_ptr added(forward_added_dict(f));
  auto back = decode_forward_added(added.get());
  ASSERT_TRUE(back) << back.describe();
  expect_same(*back, f);

  const forward_status two[] = {f, forward_status{}};
  plist_ptr listed(forward_list_dict(two));
  auto list = decode_forward_list(listed.get());
  ASSERT_TRUE(list) << list.describe();
  ASSERT_EQ(list->size(), 2u);
  expect_same((*list)[0], f);
  expect_same((*list)[1], forward_status{});
}

TEST(TetherControlBothSides, ReverseRequestsAndRepliesReadBackAsSent) {
  const reverse_spec spec{.name = "chat",
                          .phone_port = 12345,
                          .local_address = "::1",
                          .local_port = 12346,
                          .udid = "00008030-001A2B3C4D5E6F70",
                          .spares = 3};
  const auto add = std::get<requests::reverse_add>(round_trip(requests::reverse_add{spec}));
  EXPECT_EQ(add.spec.name, spec.name);
  EXPECT_EQ(add.spec.phone_port, spec.phone_port);
  EXPECT_EQ(add.spec.local_address, spec.local_address);
  EXPECT_EQ(add.spec.local_port, spec.local_port);
  EXPECT_EQ(add.spec.udid, spec.udid);
  EXPECT_EQ(add.spec.spares, 3u);
  EXPECT_EQ(std::get<requests::reverse_remove>(round_trip(requests::reverse_remove{"chat"})).name,
            "chat");
  EXPECT_TRUE(std::holds_alternative<requests::reverse_list>(round_trip(requests::reverse_list{})));

  reverse_status r{.spec = spec,
                   .state = "2 spares open on 1 phone",
                   .last_error = "port 12345 closed on the phone",
                   .phones = 1,
                   .spares_open = 2,
                   .in_use = 3,
                   .total = 9,
                   .refused = 4,
                   .local_failures = 5,
                   .bytes_to_phone = 1ull << 40,
                   .bytes_from_phone = 77};
  plist_ptr added(reverse_added_dict(r));
  auto back = decode_reverse_added(added.get());
  ASSERT_TRUE(back) << back.describe();
  const reverse_status list_in[] = {r};
  plist_ptr listed(reverse_list_dict(list_in));
  auto list = decode_reverse_list(listed.get());
  ASSERT_TRUE(list) << list.describe();
  ASSERT_EQ(list->size(), 1u);
  for (const auto& b : {*back, (*list)[0]}) {
    EXPECT_EQ(b.spec.name, "chat");
    EXPECT_EQ(b.spec.local_address, "::1");
    EXPECT_EQ(b.spec.spares, 3u);
    EXPECT_EQ(b.state, r.state);
    EXPECT_EQ(b.last_error, r.last_error);
    EXPECT_EQ(b.spares_open, 2u);
    EXPECT_EQ(b.in_use, 3u);
    EXPECT_EQ(b.total, 9u);
    EXPECT_EQ(b.refused, 4u);
    EXPECT_EQ(b.local_failures, 5u);
    EXPECT_EQ(b.bytes_to_phone, 1ull << 40);
    EXPECT_EQ(b.bytes_from_phone, 77u);
  }
}

TEST(TetherControlBothSides, ReverseAddMistakesAreNamed) {
  auto add = [](std::uint64_t phone, std::uint64_t local, std::uint64_t spares) {
    plist_ptr d(plist_new_dict());
    if (phone) plist_dict_set_item(d.get(), "PhonePort", plist_new_uint(phone));
    if (local) plist_dict_set_item(d.get(), "LocalPort", plist_new_uint(local));
    if (spares != ~0ull) plist_dict_set_item(d.get(), "Spares", plist_new_uint(spares));
    auto r = decode(d.get(), "TetherReverseAdd");
    return r ? std::string() : r.detail();
  };
  EXPECT_EQ(add(12345, 8080, ~0ull), "");
  EXPECT_EQ(add(0, 8080, ~0ull), "PhonePort is missing: which port does the phone app listen on?");
  EXPECT_EQ(add(12345, 0, ~0ull),
            "LocalPort is missing: which port does the board's service listen on?");
  EXPECT_EQ(add(12345, 70000, ~0ull), "LocalPort must be a port number (1-65535)");
  EXPECT_EQ(add(12345, 8080, 0), "Spares must be 1 to 8");
  EXPECT_EQ(add(12345, 8080, 9), "Spares must be 1 to 8");
}

TEST(TetherControlBothSides, StatusReadsBackAsSent) {
  phone_status p{.device_id = 3,
                 .udid = "u",
                 .product_id = 0x12a8,
                 .speed_bps = 480'000'000,
                 .configuration = 4,
                 .location = 0x10002,
                 .seconds_attached = 61,
                 .connections_open = 2,
                 .connections_total = 9,
                 .bytes_to_phone = 1,
                 .bytes_from_phone = 2,
                 .packets_to_phone = 3,
                 .packets_from_phone = 4,
                 .protocol_errors = 5,
                 .pairing = "waiting for Trust (12 s)"};
  connection_status c{.device_id = 3,
                      .phone_port = 2345,
                      .client = "client 7 iproxy",
                      .state = "connected",
                      .seconds_open = 12,
                      .bytes_to_phone = 6,
                      .bytes_from_phone = 7};
  plist_ptr d(status_dict(std::span(&p, 1), std::span(&c, 1)));
  auto back = decode_status(d.get());
  ASSERT_TRUE(back) << back.describe();
  const auto& r = *back;
  ASSERT_EQ(r.phones.size(), 1u);
  ASSERT_EQ(r.connections.size(), 1u);
  const auto& q = r.phones[0];
  EXPECT_EQ(q.device_id, 3u);
  EXPECT_EQ(q.udid, "u");
  EXPECT_EQ(q.product_id, 0x12a8);
  EXPECT_EQ(q.pairing, "waiting for Trust (12 s)");
  EXPECT_EQ(q.speed_bps, 480'000'000u);
  EXPECT_EQ(q.configuration, 4);
  EXPECT_EQ(q.location, 0x10002u);
  EXPECT_EQ(q.seconds_attached, 61);
  EXPECT_EQ(q.connections_open, 2u);
  EXPECT_EQ(q.connections_total, 9u);
  EXPECT_EQ(q.packets_from_phone, 4u);
  EXPECT_EQ(q.protocol_errors, 5u);
  EXPECT_EQ(r.connections[0].client, "client 7 iproxy");
  EXPECT_EQ(r.connections[0].phone_port, 2345);
  EXPECT_EQ(r.connections[0].seconds_open, 12);
  EXPECT_EQ(r.connections[0].bytes_from_phone, 7u);
}

// Phones attached that answer nothing (locked) travel as "Silent"; a reply without the
// list (a tetherd from before it) decodes as none.
TEST(TetherControlBothSides, SilentPhonesRoundTrip) {
  const std::string silent[] = {"00008120-7E7E000000000000"};
  plist_ptr d(status_dict({}, {}, silent));
  auto back = decode_status(d.get());
  ASSERT_TRUE(back) << back.describe();
  EXPECT_EQ(back->silent, std::vector<std::string>{silent[0]});
  plist_dict_remove_item(d.get(), "Silent");
  back = decode_status(d.get());
  ASSERT_TRUE(back) << back.describe();
  EXPECT_TRUE(back->silent.empty());
  plist_dict_set_item(d.get(), "Silent", plist_new_string("x"));
  EXPECT_EQ(decode_status(d.get()).detail(), "Silent is not a list");
}

// A reply the CLI cannot trust says which field is wrong, never a silent zero.
TEST(TetherControlBothSides, AWrongFieldIsNamed) {
  plist_ptr d(forward_added_dict(sample_forward()));
  plist_t f = plist_dict_get_item(d.get(), "Forward");
  plist_dict_set_item(f, "LocalPort", plist_new_uint(70000));
  auto back = decode_forward_added(d.get());
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error(), control_errc::bad_field);
  EXPECT_EQ(back.detail(), "Forward LocalPort is not a number of 0 to 65535");

  plist_dict_set_item(f, "LocalPort", plist_new_string("9345"));
  back = decode_forward_added(d.get());
  EXPECT_EQ(back.detail(), "Forward LocalPort is not a number of 0 to 65535");

  plist_ptr empty(result_dict(0));
  auto list = decode_forward_list(empty.get());
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error(), control_errc::missing_field);
  EXPECT_EQ(list.detail(), "the reply has no Forwards list");
}

TEST(TetherControl, PairNamesThePhoneOrNone) {
  for (const std::string udid : {"00008120-7E7E000000000000", ""}) {
    plist_ptr d(encode(requests::pair{udid}));
    EXPECT_EQ(proto::string_item(d.get(), "MessageType"), "TetherPair");
    EXPECT_EQ(plist_dict_get_item(d.get(), "UDID") != nullptr, !udid.empty());
    const auto back = decode(d.get(), "TetherPair");
    ASSERT_TRUE(back) << back.describe();
    EXPECT_EQ(std::get<requests::pair>(*back).udid, udid);
  }
  plist_ptr bad(plist_new_dict());
  plist_dict_set_item(bad.get(), "UDID", plist_new_uint(7));
  EXPECT_EQ(decode(bad.get(), "TetherPair").error(), control_errc::bad_field);
}

TEST(TetherControl, ErrorsHaveTheirOwnCategoryAndWords) {
  const std::error_code e = control_errc::bad_field;
  EXPECT_STREQ(e.category().name(), "tether.control");
  EXPECT_EQ(e.message(), "a field of the tetherd message has the wrong type");
  EXPECT_EQ(make_error_code(control_errc::missing_field).message(),
            "a field the tetherd request needs is missing");
  EXPECT_EQ(make_error_code(control_errc::unknown_request).message(), "unknown tetherd request");
  // The detail quotes the request.
  plist_ptr d(plist_new_dict());
  const auto r = decode(d.get(), "TetherFly");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), control_errc::unknown_request);
  EXPECT_EQ(r.detail(), "unknown tetherd request 'TetherFly'");
  plist_dict_set_item(d.get(), "PhonePort", plist_new_uint(70000));
  const auto port = decode(d.get(), "TetherForwardAdd");
  EXPECT_EQ(port.error(), control_errc::bad_field);
  EXPECT_EQ(port.detail(), "PhonePort must be a port number (1-65535)");
}

}  // namespace
}  // namespace tether::proto::tetherd
