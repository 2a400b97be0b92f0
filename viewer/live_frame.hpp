#pragma once
// One live-view frame as the viewer serves it: the JPEG, shared by every stream it goes
// to, and what the page shows about it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tether::viewer {

struct live_frame {
  std::shared_ptr<const std::vector<std::byte>> jpeg;
  std::uint32_t sequence = 0;
  std::uint16_t width = 0, height = 0;
  double age_ms = 0;  // from the camera's timestamp to its arrival in the viewer
};

}  // namespace tether::viewer
