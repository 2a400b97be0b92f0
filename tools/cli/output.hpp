#pragma once
// Printing for people (aligned tables, sizes in words) and for programs (JSON).
#include <cstdint>
#include <string>
#include <vector>

namespace tether::cli {

// Columns padded to their widest cell; the header row first.
void print_table(const std::vector<std::vector<std::string>>& rows);
std::string bytes_text(std::uint64_t n);  // "1.2 MB"
bool stdout_is_terminal();
bool stderr_is_terminal();

}  // namespace tether::cli
