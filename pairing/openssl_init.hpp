#pragma once
// For programs with threads they do not join, such as umockdev's worker in tether-sim
// and GLib's in tether-gadget: OpenSSL's cleanup at exit frees locks that such a
// thread may have used. Nothing orders the two (ThreadSanitizer reports the race), so
// these programs leave the cleanup to the kernel. Call it first thing in main().
namespace tether::pairing {

void openssl_without_exit_cleanup();

}  // namespace tether::pairing
