#pragma once
// The virtual iPhone cut into FunctionFS instances. configfs builds a gadget's
// configurations out of functions, and a FunctionFS function is one instance that
// belongs to one configuration, so the model's four configurations become seven
// instances: PTP in 1, "iPod USB Interface" in 2,
// PTP + usbmux in 3, PTP + usbmux + Apple USB Ethernet in 4. Each instance's
// descriptors and strings are cut from the model's own configuration descriptors, so
// the gadget and tether-sim show the host the same phone.
#include <cstdint>
#include <string>
#include <vector>

#include "phone/iphone_model.hpp"

namespace tether::gadget {

enum class function_kind : std::uint8_t { ptp, ipod, usbmux, ethernet };

struct function_slot {
  function_kind kind;
  std::uint8_t configuration;  // bConfigurationValue of the one configuration it is in
  // The model's interface numbers in that configuration that this instance carries.
  std::vector<std::uint8_t> interfaces;
  std::string suffix;  // names the instance: "<gadget>_<suffix>"
};

// The seven instances, in the order they are linked into their configurations (which
// is the order the host numbers their interfaces in).
std::vector<function_slot> iphone_functions();

// What is written to an instance's ep0 before the gadget is bound: descriptors in
// FunctionFS's v2 format (full and high speed) and its strings (US English).
struct ffs_blobs {
  std::vector<std::uint8_t> descriptors;
  std::vector<std::uint8_t> strings;
};

// Interfaces are renumbered from 0 and string indices from 1 within the instance, as
// FunctionFS wants; the kernel maps both to the gadget's numbers when it binds, and
// gives the endpoints addresses of the UDC's choosing.
ffs_blobs function_blobs(const sim::iphone_identity& id, const function_slot& slot);

// The name of configuration `value` (its iConfiguration string), as configfs takes it.
std::string configuration_name(const sim::iphone_identity& id, std::uint8_t value);

}  // namespace tether::gadget
