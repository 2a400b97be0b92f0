#pragma once
// Puts the apps of app_options on a phone: lockdownd on 62078, then each --app. The
// TCP relay and camera apps run their sockets on the GLib main context of whichever
// thread accepts a connection (the program's main loop, see socket_relay_app.cpp).
#include "phone/app_options.hpp"
#include "phone/virtual_phone.hpp"

namespace tether::sim {

void add_apps(virtual_phone& phone, const app_options& o);

}  // namespace tether::sim
