#pragma once
// What a controller session has to write, in order: encoded control frames (replies and
// events) and downloads. A download is a cursor over the captured file, not its chunks:
// each chunk is encoded only when the socket is ready for it, so a download of a 40 MB
// RAW file holds one 256 KiB chunk at a time, whatever the controller's speed.
//
// The outbox counts what it holds (encoded bytes, downloads) so that the session can
// stop reading a controller's requests while their answers wait (backpressure).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "camera/camera_backend.hpp"

namespace tether::camera {

class outbox {
 public:
  // Image chunks of 256 KiB: a download interleaves with live view at that grain.
  static constexpr std::size_t chunk_size = 256 * 1024;

  void push(std::vector<std::byte> frame);
  // The chunks of `file` from `offset` (at most its size), with the download's tag.
  void push_download(std::shared_ptr<const captured_file> file, std::uint32_t transfer_id,
                     std::uint64_t offset, std::uint32_t tag);
  // The next frame to write (a download's next chunk is encoded now); nullopt when empty.
  std::optional<std::vector<std::byte>> next();

  bool empty() const { return items_.empty(); }
  std::size_t bytes() const { return bytes_; }          // encoded frames waiting
  std::size_t downloads() const { return downloads_; }  // downloads not finished

 private:
  struct download {
    std::shared_ptr<const captured_file> file;
    std::uint32_t transfer_id;
    std::uint64_t at;  // the next chunk's offset
    std::uint32_t tag;
  };
  std::deque<std::variant<std::vector<std::byte>, download>> items_;
  std::size_t bytes_ = 0;
  std::size_t downloads_ = 0;
};

}  // namespace tether::camera
