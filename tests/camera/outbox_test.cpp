// The controller session's outbox: downloads are a cursor, not queued chunks, and what
// it holds is counted for backpressure.
#include "camera/outbox.hpp"

#include <gtest/gtest.h>

#include "proto/camera/messages.hpp"

namespace tether::camera {
namespace {

std::shared_ptr<const captured_file> file_of(std::size_t size) {
  auto f = std::make_shared<captured_file>();
  f->name = "IMG_0001.JPG";
  f->mime = "image/jpeg";
  f->bytes.resize(size);
  for (std::size_t i = 0; i < size; ++i) f->bytes[i] = static_cast<std::byte>(i * 7);
  return f;
}

TEST(Outbox, DownloadsAreEncodedOneChunkAtATime) {
  outbox box;
  const std::size_t size = 10 * outbox::chunk_size + 5;
  for (int i = 0; i < 100; ++i) box.push_download(file_of(size), 7, 0, 3);
  // A hundred downloads of 2.5 MB queued: nothing encoded yet.
  EXPECT_EQ(box.bytes(), 0u);
  EXPECT_EQ(box.downloads(), 100u);
  auto first = box.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 16 + proto::camera::image_chunk_header_size + outbox::chunk_size);
  EXPECT_EQ(box.bytes(), 0u);
}

TEST(Outbox, ChunksCoverTheFileInOrderThenTheNextItem) {
  outbox box;
  const auto file = file_of(2 * outbox::chunk_size + 100);
  box.push_download(file, 9, 100, 4);  // a resume at offset 100
  box.push(std::vector<std::byte>(30));
  EXPECT_EQ(box.bytes(), 30u);
  std::uint64_t at = 100;
  for (int i = 0; i < 2; ++i) {
    auto f = box.next();
    ASSERT_TRUE(f);
    const std::size_t data = f->size() - 16 - proto::camera::image_chunk_header_size;
    EXPECT_EQ(data, i == 0 ? outbox::chunk_size : outbox::chunk_size);
    at += data;
  }
  EXPECT_EQ(at, file->bytes.size());
  EXPECT_EQ(box.downloads(), 0u);
  auto reply = box.next();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->size(), 30u);
  EXPECT_EQ(box.bytes(), 0u);
  EXPECT_TRUE(box.empty());
  EXPECT_FALSE(box.next());
}

TEST(Outbox, AnEmptyFileIsOneEmptyChunk) {
  outbox box;
  box.push_download(file_of(0), 1, 0, 2);
  auto f = box.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->size(), 16 + proto::camera::image_chunk_header_size);
  EXPECT_TRUE(box.empty());
}

}  // namespace
}  // namespace tether::camera
