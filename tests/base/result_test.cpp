// base::result: the one value-or-error type, with a detail that quotes the values.
#include "base/result.hpp"

#include <gtest/gtest.h>

#include <ios>

#include <string>
#include <vector>

namespace tether::base {
namespace {

result<int> half(int n) {
  if (n % 2 != 0)
    return {std::make_error_code(std::errc::invalid_argument), std::to_string(n) + " is odd"};
  return n / 2;
}

TEST(Result, HoldsAValue) {
  const auto r = half(8);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 4);
  EXPECT_EQ(r.value(), 4);
  EXPECT_FALSE(r.error());
  EXPECT_EQ(r.detail(), "");
}

TEST(Result, HoldsAnErrorWithADetailThatQuotesTheValue) {
  const auto r = half(7);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::invalid_argument);
  EXPECT_EQ(r.detail(), "7 is odd");
  EXPECT_EQ(r.describe(), "7 is odd");  // the detail, when there is one
}

TEST(Result, WithoutADetailDescribeIsTheCodesMessage) {
  const result<std::string> r(std::make_error_code(std::errc::no_such_file_or_directory));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.detail(), "");
  EXPECT_EQ(r.describe(), std::make_error_code(std::errc::no_such_file_or_directory).message());
  EXPECT_EQ(describe(std::make_error_code(std::errc::no_such_file_or_directory), "x"), "x");
}

TEST(Result, TakesAnErrorCodeEnumAndMovesItsValueOut) {
  const result<int> e(std::io_errc::stream, "after 5 bytes");
  EXPECT_EQ(e.error(), std::io_errc::stream);
  EXPECT_EQ(e.describe(), "after 5 bytes");

  result<std::vector<int>> v(std::vector<int>{1, 2, 3});
  const std::vector<int> taken = std::move(v).value();
  EXPECT_EQ(taken.size(), 3u);
}

TEST(Result, VoidIsSuccessOrAnError) {
  const result<void> ok;
  EXPECT_TRUE(ok);
  EXPECT_FALSE(ok.error());

  const result<void> failed(std::make_error_code(std::errc::permission_denied),
                            "cannot write /etc/x");
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.error(), std::errc::permission_denied);
  EXPECT_EQ(failed.describe(), "cannot write /etc/x");
}

}  // namespace
}  // namespace tether::base
