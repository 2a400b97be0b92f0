#pragma once
// The configfs side of the gadget as a plan: which directories, attributes and links
// make an iPhone under usb_gadget/NAME, in the order the kernel needs them (a function
// exists before it is linked into a configuration). Applied to a root directory,
// normally /sys/kernel/config/usb_gadget; tests point it at a temporary one.
//
// Binding to a UDC is not in the plan: it comes after every FunctionFS instance has its
// descriptors (bind_udc).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "phone/iphone_model.hpp"
#include "tools/gadget/ffs_descriptors.hpp"

namespace tether::gadget {

struct configfs_step {
  enum class kind : std::uint8_t { mkdir, write, symlink };
  kind what;
  std::string path;   // relative to the root
  std::string value;  // write: the text; symlink: the target, relative to the root
};

// The FunctionFS instance name of `slot` in gadget `name` (what `mount -t functionfs`
// takes as its device).
std::string instance_name(const std::string& name, const function_slot& slot);

std::vector<configfs_step> gadget_plan(const std::string& name, const sim::iphone_identity& id,
                                       const std::vector<function_slot>& functions);

// Carries the plan out. Stops at the first step that fails; `error` names the path and
// the reason.
bool apply(const std::filesystem::path& root, const std::vector<configfs_step>& plan,
           std::string& error);

// What undoing the plan removes, in order: its links and directories, newest first
// (configfs drops attributes with their directory).
std::vector<configfs_step> undo_steps(const std::vector<configfs_step>& plan);

// Undoes the plan (undo_steps), newest step first: links removed, directories removed (configfs
// drops their attributes with them). Goes on past steps that fail (a half-made or
// already removed gadget); returns the first failure other than "not there".
bool undo(const std::filesystem::path& root, const std::vector<configfs_step>& plan,
          std::string& error);

// Binds the gadget to the UDC `udc` (its name under /sys/class/udc): the host sees the
// cable plugged in. An empty `udc` unbinds it, as a cable pull does.
bool bind_udc(const std::filesystem::path& root, const std::string& name, const std::string& udc,
              std::string& error);

}  // namespace tether::gadget
