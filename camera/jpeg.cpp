#include "camera/jpeg.hpp"

#include <turbojpeg.h>

#include <memory>
#include <string>

#include "camera/camera_backend.hpp"

namespace tether::camera {

namespace {

struct tj_deleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using tj_handle = std::unique_ptr<void, tj_deleter>;

[[noreturn]] void fail(void* handle, const char* what) {
  throw camera_error(camera_error::kind::failed, std::string(what) + ": " + tjGetErrorStr2(handle));
}

}  // namespace

std::vector<std::byte> encode_jpeg(const rgb_image& image, int quality) {
  // A handle per call costs microseconds against the milliseconds of the encode, and
  // keeps this free of shared state.
  const tj_handle tj(tjInitCompress());
  if (!tj) fail(nullptr, "cannot start the JPEG encoder");
  unsigned char* out = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj.get(), image.pixels.data(), static_cast<int>(image.width), 0,
                  static_cast<int>(image.height), TJPF_RGB, &out, &size, TJSAMP_420, quality,
                  TJFLAG_FASTDCT) != 0) {
    tjFree(out);
    fail(tj.get(), "cannot encode the JPEG");
  }
  const auto* first = reinterpret_cast<const std::byte*>(out);
  std::vector<std::byte> jpeg(first, first + size);
  tjFree(out);
  return jpeg;
}

bool jpeg_size(std::span<const std::byte> jpeg, std::uint32_t& width, std::uint32_t& height) {
  const tj_handle tj(tjInitDecompress());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (!tj || tjDecompressHeader3(tj.get(), reinterpret_cast<const unsigned char*>(jpeg.data()),
                                 jpeg.size(), &w, &h, &subsamp, &colorspace) != 0)
    return false;
  width = static_cast<std::uint32_t>(w);
  height = static_cast<std::uint32_t>(h);
  return true;
}

rgb_image decode_jpeg(std::span<const std::byte> jpeg) {
  const tj_handle tj(tjInitDecompress());
  if (!tj) fail(nullptr, "cannot start the JPEG decoder");
  const auto* in = reinterpret_cast<const unsigned char*>(jpeg.data());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), in, jpeg.size(), &w, &h, &subsamp, &colorspace) != 0)
    fail(tj.get(), "not a JPEG");
  rgb_image image;
  image.width = static_cast<std::uint32_t>(w);
  image.height = static_cast<std::uint32_t>(h);
  image.pixels.resize(std::size_t{image.width} * image.height * 3);
  if (tjDecompress2(tj.get(), in, jpeg.size(), image.pixels.data(), w, 0, h, TJPF_RGB, 0) != 0)
    fail(tj.get(), "cannot decode the JPEG");
  return image;
}

}  // namespace tether::camera
