#include "tools/gadget/configfs_plan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tether::gadget {
namespace {

std::string hex16(std::uint16_t v) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%04x", v);
  return text;
}

// One attribute write, as `echo VALUE > PATH` does it. configfs attributes exist as
// soon as their directory does; O_CREAT only matters for a plain directory (tests).
bool write_text(const std::filesystem::path& path, const std::string& text, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  const std::string line = text + "\n";
  const ssize_t n = ::write(fd, line.data(), line.size());
  const int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    error = "cannot write '" + text + "' to " + path.string() + ": " +
            (n < 0 ? std::strerror(saved) : "short write");
    return false;
  }
  return true;
}

}  // namespace

std::string instance_name(const std::string& name, const function_slot& slot) {
  return name + "_" + slot.suffix;
}

std::vector<configfs_step> gadget_plan(const std::string& name, const sim::iphone_identity& id,
                                       const std::vector<function_slot>& functions) {
  using k = configfs_step::kind;
  std::vector<configfs_step> p;
  const std::string g = name + "/";
  p.push_back({k::mkdir, name, {}});
  p.push_back({k::write, g + "idVendor", hex16(sim::apple_vendor_id)});
  p.push_back({k::write, g + "idProduct", hex16(id.product_id)});
  p.push_back({k::write, g + "bcdDevice", hex16(id.bcd_device)});
  p.push_back({k::write, g + "bcdUSB", hex16(0x0200)});
  p.push_back({k::mkdir, g + "strings/0x409", {}});
  p.push_back({k::write, g + "strings/0x409/manufacturer", sim::string_text(id, 1)});
  p.push_back({k::write, g + "strings/0x409/product", sim::string_text(id, 2)});
  p.push_back({k::write, g + "strings/0x409/serialnumber", sim::string_text(id, 3)});
  for (std::uint8_t c = 1; c <= sim::configuration_count; ++c) {
    const std::string dir = g + "configs/c." + std::to_string(c);
    p.push_back({k::mkdir, dir, {}});
    // Self-powered, 500 mA: what the model's configuration descriptors say.
    p.push_back({k::write, dir + "/bmAttributes", "0xc0"});
    p.push_back({k::write, dir + "/MaxPower", "500"});
    p.push_back({k::mkdir, dir + "/strings/0x409", {}});
    p.push_back({k::write, dir + "/strings/0x409/configuration", configuration_name(id, c)});
  }
  for (const function_slot& f : functions)
    p.push_back({k::mkdir, g + "functions/ffs." + instance_name(name, f), {}});
  // Linked last and in order: the order of links in a configuration is the order of its
  // interfaces.
  for (const function_slot& f : functions) {
    const std::string fn = "ffs." + instance_name(name, f);
    p.push_back({k::symlink, g + "configs/c." + std::to_string(f.configuration) + "/" + fn,
                 g + "functions/" + fn});
  }
  return p;
}

bool apply(const std::filesystem::path& root, const std::vector<configfs_step>& plan,
           std::string& error) {
  for (const configfs_step& s : plan) {
    const std::filesystem::path path = root / s.path;
    switch (s.what) {
      case configfs_step::kind::mkdir: {
        // configfs makes a gadget's configs/, functions/ and strings/ itself; a plain
        // directory (tests) needs them made.
        std::error_code ec;
        std::filesystem::create_directories(path, ec);
        if (ec) {
          error = "cannot make " + path.string() + ": " + ec.message();
          return false;
        }
        break;
      }
      case configfs_step::kind::write:
        if (!write_text(path, s.value, error)) return false;
        break;
      case configfs_step::kind::symlink:
        if (::symlink((root / s.value).c_str(), path.c_str()) != 0) {
          error = "cannot link " + path.string() + " to " + (root / s.value).string() + ": " +
                  std::strerror(errno);
          return false;
        }
        break;
    }
  }
  return true;
}

std::vector<configfs_step> undo_steps(const std::vector<configfs_step>& plan) {
  std::vector<configfs_step> steps;
  for (auto it = plan.rbegin(); it != plan.rend(); ++it)
    if (it->what != configfs_step::kind::write) steps.push_back(*it);
  return steps;
}

bool undo(const std::filesystem::path& root, const std::vector<configfs_step>& plan,
          std::string& error) {
  bool ok = true;
  for (const configfs_step& step : undo_steps(plan)) {
    const std::filesystem::path path = root / step.path;
    const int rc =
        step.what == configfs_step::kind::symlink ? ::unlink(path.c_str()) : ::rmdir(path.c_str());
    if (rc != 0 && errno != ENOENT && ok) {
      error = "cannot remove " + path.string() + ": " + std::strerror(errno);
      ok = false;
    }
  }
  return ok;
}

bool bind_udc(const std::filesystem::path& root, const std::string& name, const std::string& udc,
              std::string& error) {
  return write_text(root / name / "UDC", udc, error);
}

}  // namespace tether::gadget
