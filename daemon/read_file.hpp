#pragma once
// Reads a small file whole, with POSIX calls: no iostream in tetherd, so libstdc++'s
// locale machinery is never initialised and its pages stay out of the idle daemon.
#include <cstddef>
#include <string>

namespace tether::daemon {

// Reads at most `limit` bytes of `path` into `out`; 0, or the errno of the failure.
// Pass one more than the largest size accepted to tell a file that is too long.
int read_file(const std::string& path, std::size_t limit, std::string& out);

}  // namespace tether::daemon
