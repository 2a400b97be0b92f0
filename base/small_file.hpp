#pragma once
// Small files read and written whole, with POSIX calls: no iostream in tetherd, so
// libstdc++'s locale machinery is never initialised and its pages stay out of the idle
// daemon.
#include <cstddef>
#include <string>
#include <string_view>

namespace tether::base {

// Reads at most `limit` bytes of `path` into `out`; 0, or the errno of the failure.
// Pass one more than the largest size accepted to tell a file that is too long.
int read_file(const std::string& path, std::size_t limit, std::string& out);

// Replaces `path` with `contents` so that a crash or a power cut at any moment leaves
// the old file or the new one, never a mix: a temporary file beside it, fsync, rename,
// fsync of the directory. `mode` is exact (the umask does not apply). 0, or the errno.
int write_file_atomically(const std::string& path, std::string_view contents, int mode);

}  // namespace tether::base
