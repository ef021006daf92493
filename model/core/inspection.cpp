// The level spans of an inspection, and the names of its attention kinds.
#include "model/core/inspection.h"

#include <algorithm>

namespace hg {

LevelRows level_rows(int level, int factor, int64_t positions) {
  LevelRows rows;
  rows.level = level;
  rows.factor = factor;
  rows.count = positions > 0 ? (positions - 1) / factor + 1 : 0;
  for (int64_t j = 0; j < rows.count; ++j)
    rows.covers.push_back({std::max<int64_t>(0, j * factor - (factor - 1)), j * factor});
  return rows;
}

std::string to_string(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::kSelf:
      return "self";
    case AttentionKind::kShorten:
      return "shorten";
    case AttentionKind::kUpsample:
      return "upsample";
  }
  return "?";
}

}  // namespace hg
