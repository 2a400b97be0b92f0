#pragma once
// libgphoto2 shows setting values the way its camera drivers word them ("0.0080s",
// "Automatic", "NEF+Fine", "0.333"); the camera protocol has one format per setting
// (proto/camera/PROTOCOL.md, "Values": "1/125", "auto", "raw+jpeg-fine", "+0.3"). This
// turns the first into the second. Setting goes the other way by matching: the backend
// offers the widget choice whose protocol form is the value asked for.
#include <string>

namespace tether::camera {

// `property` is the protocol's name (iso, shutter_speed, ...). Text this does not know
// is passed on lowercased with spaces as '-', so a body's own words still show.
std::string protocol_value(const std::string& property, const std::string& gphoto_text);

}  // namespace tether::camera
