// The memory check of memory.h: one comparison and one message for every caller.
#include "model/nn/memory.h"

#include <iomanip>
#include <sstream>

#include "model/nn/device.h"

namespace hg {

namespace {

// "0.0123", "23.1", "1843": three significant digits, whole gigabytes from 100 on.
std::string gigabytes(double bytes) {
  std::ostringstream out;
  const double gb = bytes / 1e9;
  if (gb >= 100.0)
    out << std::fixed << std::setprecision(0) << gb;
  else
    out << std::setprecision(3) << gb;
  return out.str();
}

}  // namespace

std::string out_of_memory_message(const std::string& what, double needs_bytes, double free_bytes,
                                  const std::string& hint) {
  return "out of memory: " + what + " needs " + gigabytes(needs_bytes) + " GB, the device has " +
         gigabytes(free_bytes) + " GB free. HINT: " + hint;
}

void check_memory(const torch::Device& device, double needs_bytes, const std::string& what,
                  const std::string& hint) {
  const int64_t available = available_memory_bytes(device);
  if (available < 0 || needs_bytes <= static_cast<double>(available)) return;
  throw OutOfMemory(out_of_memory_message(what, needs_bytes, static_cast<double>(available), hint));
}

}  // namespace hg
