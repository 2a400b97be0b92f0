#include "camera/outbox.hpp"

#include <algorithm>
#include <span>

#include "proto/camera/messages.hpp"

namespace tether::camera {

void outbox::push(std::vector<std::byte> frame) {
  bytes_ += frame.size();
  items_.emplace_back(std::move(frame));
}

void outbox::push_download(std::shared_ptr<const captured_file> file, std::uint32_t transfer_id,
                           std::uint64_t offset, std::uint32_t tag) {
  ++downloads_;
  items_.emplace_back(download{std::move(file), transfer_id, offset, tag});
}

std::optional<std::vector<std::byte>> outbox::next() {
  if (items_.empty()) return std::nullopt;
  if (auto* frame = std::get_if<std::vector<std::byte>>(&items_.front())) {
    auto out = std::move(*frame);
    items_.pop_front();
    bytes_ -= out.size();
    return out;
  }
  auto& d = std::get<download>(items_.front());
  const auto& bytes = d.file->bytes;
  const std::uint64_t total = bytes.size();
  // One chunk even when there is nothing left: an empty file (or a resume at its end)
  // is one chunk with no data (PROTOCOL.md §5).
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, total - d.at));
  auto out = proto::camera::encode_image_chunk(
      d.tag, d.transfer_id, d.at, total,
      std::span(bytes).subspan(static_cast<std::size_t>(d.at), n));
  d.at += n;
  if (d.at >= total) {
    items_.pop_front();
    --downloads_;
  }
  return out;
}

}  // namespace tether::camera
