#pragma once
// The engine uses base's value-or-error type (base/result.hpp) under its own name.
#include "base/result.hpp"

namespace tether::usbmux {

using base::result;

}  // namespace tether::usbmux
