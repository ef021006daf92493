// Small string helpers the engine's files share. Torch-free and header-only.
#pragma once

#include <string>

namespace hg {

inline bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

}  // namespace hg
