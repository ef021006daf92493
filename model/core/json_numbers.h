// Whole numbers read from JSON (presets, run configs, checkpoint metadata) as they were written:
// an integer that fits the field, not a fraction (32.9), a boolean (true) or a value that would
// wrap around (4294967328 read as an int is 32). Torch-free and header-only.
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace hg {

// j as a T, or std::invalid_argument naming `what` (e.g. "model config key 'd_model'").
template <typename T>
T whole_number(const nlohmann::json& j, const std::string& what) {
  const bool fits =
      j.is_number_integer() &&
      (j.is_number_unsigned()
           ? j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
           : j.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                 (std::numeric_limits<T>::max() >= std::numeric_limits<int64_t>::max() ||
                  j.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max())));
  if (!fits)
    throw std::invalid_argument(
        what + " must be a whole number from " + std::to_string(std::numeric_limits<T>::min()) +
        " to " + std::to_string(std::numeric_limits<T>::max()) + ", got " + j.dump());
  return j.get<T>();
}

}  // namespace hg
