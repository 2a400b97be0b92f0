#include "phone/iphone_model.hpp"

#include "base/byte_order.hpp"

#include <cstdio>

namespace tether::sim {
namespace {

using descriptor_bytes = std::vector<std::uint8_t>;

enum : std::uint8_t {
  desc_device = 1,
  desc_config = 2,
  desc_string = 3,
  desc_interface = 4,
  desc_endpoint = 5,
  desc_ss_companion = 0x30,
};

// String table indices.
enum : std::uint8_t {
  str_manufacturer = 1,
  str_product,
  str_serial,
  str_ptp,
  str_ptp_mux,
  str_ptp_mux_eth,
  str_audio,
  str_mux_interface,
  str_eth_interface,
  str_count,
};

void put16(descriptor_bytes& b, std::uint16_t v) { base::append_le16(b, v); }

void endpoint(descriptor_bytes& b, const iphone_identity& id, std::uint8_t address,
              std::uint8_t attributes, std::uint16_t size, std::uint8_t interval) {
  b.insert(b.end(), {7, desc_endpoint, address, attributes});
  put16(b, size);
  b.push_back(interval);
  if (id.speed == usb_speed::super) {
    // SuperSpeed endpoints are each followed by their companion descriptor.
    b.insert(b.end(),
             {6, desc_ss_companion, attributes == 2 ? std::uint8_t{3} : std::uint8_t{0}, 0});
    put16(b, attributes == 3 ? size : 0);
  }
}

void interface(descriptor_bytes& b, std::uint8_t number, std::uint8_t alt, std::uint8_t endpoints,
               std::uint8_t cls, std::uint8_t sub, std::uint8_t proto, std::uint8_t name) {
  b.insert(b.end(), {9, desc_interface, number, alt, endpoints, cls, sub, proto, name});
}

void ptp_interface(descriptor_bytes& b, const iphone_identity& id) {
  const std::uint16_t bulk = bulk_packet_size(id.speed);
  interface(b, 0, 0, 3, 0x06, 0x01, 0x01, str_ptp);
  endpoint(b, id, 0x02, 2, bulk, 0);
  endpoint(b, id, 0x81, 2, bulk, 0);
  endpoint(b, id, 0x83, 3, 64, id.speed == usb_speed::super ? 9 : 8);
}

void usbmux_interface(descriptor_bytes& b, const iphone_identity& id) {
  const std::uint16_t bulk = bulk_packet_size(id.speed);
  interface(b, usbmux_interface_number, 0, 2, 0xff, 0xfe, 0x02, str_mux_interface);
  endpoint(b, id, usbmux_out_endpoint, 2, bulk, 0);
  endpoint(b, id, usbmux_in_endpoint, 2, bulk, 0);
}

void ethernet_interface(descriptor_bytes& b, const iphone_identity& id) {
  const std::uint16_t bulk = bulk_packet_size(id.speed);
  interface(b, 2, 0, 0, 0xff, 0xfd, 0x01, str_eth_interface);
  interface(b, 2, 1, 2, 0xff, 0xfd, 0x01, str_eth_interface);
  endpoint(b, id, 0x05, 2, bulk, 0);
  endpoint(b, id, 0x86, 2, bulk, 0);
}

}  // namespace

const char* string_text(const iphone_identity& id, std::uint8_t index) {
  switch (index) {
    case str_manufacturer: return "Apple Inc.";
    case str_product: return id.product.c_str();
    case str_serial: return id.serial.c_str();
    case str_ptp: return "PTP";
    case str_ptp_mux: return "PTP + Apple Mobile Device";
    case str_ptp_mux_eth: return "PTP + Apple Mobile Device + Apple USB Ethernet";
    case str_audio: return "iPod USB Interface";
    case str_mux_interface: return "Apple USB Multiplexor";
    case str_eth_interface: return "Apple USB Ethernet";
  }
  return nullptr;
}

std::uint16_t bulk_packet_size(usb_speed s) { return s == usb_speed::super ? 1024 : 512; }

std::string udid_from_serial(const std::string& serial) {
  if (serial.size() == 24) return serial.substr(0, 8) + "-" + serial.substr(8);
  return serial;
}

bool has_usbmux(std::uint8_t value) { return value == 3 || value == 4; }

descriptor_bytes device_descriptor(const iphone_identity& id) {
  descriptor_bytes b{18, desc_device};
  put16(b, id.speed == usb_speed::super ? 0x0320 : 0x0200);
  b.insert(b.end(), {0, 0, 0, id.speed == usb_speed::super ? std::uint8_t{9} : std::uint8_t{64}});
  put16(b, apple_vendor_id);
  put16(b, id.product_id);
  put16(b, id.bcd_device);
  b.insert(b.end(), {str_manufacturer, str_product, str_serial, configuration_count});
  return b;
}

descriptor_bytes configuration_descriptor(const iphone_identity& id, std::uint8_t value) {
  descriptor_bytes body;
  std::uint8_t interfaces = 0;
  std::uint8_t name = 0;
  switch (value) {
    case 1:
      ptp_interface(body, id);
      interfaces = 1;
      name = str_ptp;
      break;
    case 2:
      // Audio control + HID, as the "iPod USB Interface" configuration has.
      interface(body, 0, 0, 0, 0x01, 0x01, 0x00, str_audio);
      interface(body, 1, 0, 1, 0x03, 0x00, 0x00, str_audio);
      endpoint(body, id, 0x83, 3, 64, id.speed == usb_speed::super ? 9 : 8);
      interfaces = 2;
      name = str_audio;
      break;
    case 3:
      ptp_interface(body, id);
      usbmux_interface(body, id);
      interfaces = 2;
      name = str_ptp_mux;
      break;
    case 4:
      ptp_interface(body, id);
      usbmux_interface(body, id);
      ethernet_interface(body, id);
      interfaces = 3;
      name = str_ptp_mux_eth;
      break;
    default: return {};
  }
  descriptor_bytes b{9, desc_config};
  put16(b, static_cast<std::uint16_t>(9 + body.size()));
  // Self-powered: phones draw their charge but report themselves so; 500 mA max.
  b.insert(b.end(), {interfaces, value, name, 0xc0, 250});
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

descriptor_bytes all_descriptors(const iphone_identity& id) {
  descriptor_bytes b = device_descriptor(id);
  for (std::uint8_t v = 1; v <= configuration_count; ++v) {
    const descriptor_bytes c = configuration_descriptor(id, v);
    b.insert(b.end(), c.begin(), c.end());
  }
  return b;
}

descriptor_bytes string_descriptor(const iphone_identity& id, std::uint8_t index) {
  if (index == 0) return {4, desc_string, 0x09, 0x04};
  const char* text = string_text(id, index);
  if (text == nullptr) return {};
  descriptor_bytes b{0, desc_string};
  for (const char* p = text; *p != '\0'; ++p) {
    b.push_back(static_cast<std::uint8_t>(*p));
    b.push_back(0);
  }
  b[0] = static_cast<std::uint8_t>(b.size());
  return b;
}

std::string sysfs_path(const iphone_identity& id) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/sys/devices/pci0000:00/0000:00:14.0/usb%u/%u-%u", id.bus, id.bus,
                id.address);
  return buf;
}

std::string dev_node(const iphone_identity& id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/dev/bus/usb/%03u/%03u", id.bus, id.address);
  return buf;
}

std::string sysfs_description(const iphone_identity& id) {
  std::string hex;
  char b[8];
  for (std::uint8_t byte : all_descriptors(id)) {
    std::snprintf(b, sizeof b, "%02x", byte);
    hex += b;
  }
  const char* speed = id.speed == usb_speed::super ? "10000" : "480";  // Gen 2, as the Pros
  std::string s;
  auto line = [&s](const char* tag, const std::string& v) {
    s += std::string(tag) + ": " + v + "\n";
  };
  char num[64];
  line("P", sysfs_path(id).substr(4));  // umockdev wants the path below /sys
  // No N: line. umockdev would create the node as a plain file, replacing the FIFO
  // that usbdevfs_phone puts there before the device is announced.
  line("E", "SUBSYSTEM=usb");
  line("E", "DEVTYPE=usb_device");
  line("E", "DRIVER=usb");
  std::snprintf(num, sizeof num, "%03u", id.bus);
  line("E", std::string("BUSNUM=") + num);
  std::snprintf(num, sizeof num, "%03u", id.address);
  line("E", std::string("DEVNUM=") + num);
  line("E", "DEVNAME=" + dev_node(id));
  std::snprintf(num, sizeof num, "%x/%x/%x", apple_vendor_id, id.product_id, id.bcd_device);
  line("E", std::string("PRODUCT=") + num);
  line("E", "ID_SERIAL_SHORT=" + id.serial);
  std::snprintf(num, sizeof num, "%04x", apple_vendor_id);
  line("A", std::string("idVendor=") + num + "\\n");
  std::snprintf(num, sizeof num, "%04x", id.product_id);
  line("A", std::string("idProduct=") + num + "\\n");
  std::snprintf(num, sizeof num, "%04x", id.bcd_device);
  line("A", std::string("bcdDevice=") + num + "\\n");
  line("A", "manufacturer=Apple Inc.\\n");
  line("A", "product=" + id.product + "\\n");
  line("A", "serial=" + id.serial + "\\n");
  line("A", std::string("busnum=") + std::to_string(id.bus) + "\\n");
  line("A", std::string("devnum=") + std::to_string(id.address) + "\\n");
  line("A", std::string("speed=") + speed + "\\n");
  line("A", "bNumConfigurations=4\\n");
  line("A", std::string("bConfigurationValue=") +
                (id.initial_configuration ? std::to_string(id.initial_configuration) : "") + "\\n");
  line("H", "descriptors=" + hex);
  return s;
}

}  // namespace tether::sim
