// link_errc: why a phone_link went down, in its own category.
#include "usbmux/core/link_errc.hpp"

#include <gtest/gtest.h>

namespace tether::usbmux {
namespace {

TEST(LinkErrc, EachCodeHasItsWordsInItsOwnCategory) {
  const std::error_code unplugged = link_errc::unplugged;
  EXPECT_EQ(unplugged.category(), link_category());
  EXPECT_STREQ(unplugged.category().name(), "tether.link");
  // "unplugged" is the word the logs have always used ("detached UDID (device 1): unplugged").
  EXPECT_EQ(unplugged.message(), "unplugged");
  EXPECT_EQ(make_error_code(link_errc::transfer_failed).message(),
            "a USB transfer to or from the phone failed");
  EXPECT_EQ(make_error_code(link_errc::protocol_error).message(),
            "the phone broke the mux protocol");
  EXPECT_EQ(make_error_code(link_errc::handshake_failed).message(),
            "the phone did not answer the mux VERSION handshake");
  EXPECT_EQ(make_error_code(link_errc::shut_down).message(), "the link was shut down");
  EXPECT_EQ(std::error_code(99, link_category()).message(), "unknown link error");
}

TEST(LinkErrc, CodesCompareByValueNotByWords) {
  const std::error_code why = link_errc::unplugged;
  EXPECT_EQ(why, link_errc::unplugged);
  EXPECT_NE(why, link_errc::transfer_failed);
  // Another category's 1 is not an unplug.
  EXPECT_NE(std::error_code(1, std::generic_category()), link_errc::unplugged);
}

}  // namespace
}  // namespace tether::usbmux
