// The Inspector's numbers from an InspectResult: index conventions as inspect.h states them (rows
// of level K cover positions max(0, jK-K+1) .. jK; a shortening's keys start with k-1 zero rows).
// Not drawing: inspector_view.cpp and friends.
#include "ui/inspector/inspector_figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hg {

const AttentionMap* find_attention(const InspectResult& result, const std::string& name) {
  for (const AttentionMap& map : result.attention)
    if (map.name == name) return &map;
  return nullptr;
}

Matrix attention_matrix(const AttentionMap& map, int head) {
  Matrix m;
  m.rows = map.queries;
  m.cols = map.keys;
  const size_t size = static_cast<size_t>(m.rows * m.cols);
  if (head >= 0 && head < map.heads) {
    const auto first = map.weights.begin() + static_cast<int64_t>(head * size);
    m.values.assign(first, first + static_cast<int64_t>(size));
    return m;
  }
  // Summed in double, so the mean does not depend on the order of heads.
  std::vector<double> sum(size, 0.0);
  for (int64_t h = 0; h < map.heads; ++h) {
    const float* w = map.weights.data() + h * size;
    for (size_t i = 0; i < size; ++i) sum[i] += w[i];
  }
  m.values.resize(size);
  for (size_t i = 0; i < size; ++i)
    m.values[i] = static_cast<float>(sum[i] / static_cast<double>(std::max<int64_t>(1, map.heads)));
  return m;
}

std::optional<PositionSpan> key_span(const InspectResult& result, const AttentionMap& map,
                                     int64_t key) {
  const int64_t row = key - map.key_offset;
  const LevelRows& rows = result.levels[map.key_level];
  if (row < 0 || row >= rows.count) return std::nullopt;
  return rows.covers[row];
}

PositionSpan query_span(const InspectResult& result, const AttentionMap& map, int64_t row) {
  const LevelRows& rows = result.levels[map.query_level];
  return rows.covers[std::clamp<int64_t>(row, 0, rows.count - 1)];
}

int64_t query_row_of(const InspectResult& result, const AttentionMap& map, int64_t position) {
  const LevelRows& rows = result.levels[map.query_level];
  const int64_t row = (position + rows.factor - 1) / rows.factor;  // row j covers .. jK
  return std::clamp<int64_t>(row, 0, rows.count - 1);
}

PositionHeat attention_over_positions(const InspectResult& result, const AttentionMap& map,
                                      const Matrix& matrix, int64_t query_row) {
  PositionHeat out;
  out.heat.assign(static_cast<size_t>(result.positions), 0.0f);
  if (query_row < 0 || query_row >= matrix.rows) return out;
  for (int64_t key = 0; key < matrix.cols; ++key) {
    const float weight = matrix.at(query_row, key);
    const std::optional<PositionSpan> span = key_span(result, map, key);
    if (!span) {
      out.padding += weight;
      continue;
    }
    const float share = weight / static_cast<float>(span->last - span->first + 1);
    for (int64_t p = span->first; p <= span->last; ++p) out.heat[static_cast<size_t>(p)] += share;
  }
  return out;
}

const float* level_value(const std::vector<std::vector<float>>& level_values, int level, int factor,
                         int64_t position) {
  if (level < 0 || level >= static_cast<int>(level_values.size()) || factor < 1 || position < 0)
    return nullptr;
  const int64_t row = (position + factor - 1) / factor;
  const auto& values = level_values[level];
  return row < static_cast<int64_t>(values.size()) ? &values[row] : nullptr;
}

std::vector<float> activation_values(const LevelActivations& activations, int channel) {
  std::vector<float> out(static_cast<size_t>(activations.rows));
  const bool norm = channel < 0 || channel >= activations.width;
  for (int64_t r = 0; r < activations.rows; ++r) {
    const float* row = activations.values.data() + r * activations.width;
    if (!norm) {
      out[r] = row[channel];
      continue;
    }
    double sum = 0.0;
    for (int64_t c = 0; c < activations.width; ++c) sum += static_cast<double>(row[c]) * row[c];
    out[r] = static_cast<float>(std::sqrt(sum));
  }
  return out;
}

BinnedMatrix bin_attention(const Matrix& matrix, const AttentionMap& map, int max_cells) {
  BinnedMatrix b;
  const int64_t cells = std::max(1, max_cells);
  b.row_step = std::max<int64_t>(1, (matrix.rows + cells - 1) / cells);
  b.col_step = std::max<int64_t>(1, (matrix.cols + cells - 1) / cells);
  b.rows = (matrix.rows + b.row_step - 1) / b.row_step;
  b.cols = (matrix.cols + b.col_step - 1) / b.col_step;
  b.values.assign(static_cast<size_t>(b.rows * b.cols), 0.0f);
  b.open.assign(b.values.size(), 0);
  for (int64_t br = 0; br < b.rows; ++br) {
    const int64_t r0 = br * b.row_step, r1 = std::min(matrix.rows, r0 + b.row_step);
    // key_limit grows with the query, so the block's last row sees furthest.
    const int64_t limit = map.key_limit.empty() ? matrix.cols - 1 : map.key_limit[r1 - 1];
    for (int64_t bc = 0; bc < b.cols; ++bc) {
      const int64_t c0 = bc * b.col_step, c1 = std::min(matrix.cols, c0 + b.col_step);
      double sum = 0.0;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) sum += matrix.at(r, c);
      const size_t i = static_cast<size_t>(br * b.cols + bc);
      b.values[i] = static_cast<float>(sum / static_cast<double>((r1 - r0) * (c1 - c0)));
      b.open[i] = c0 <= limit;
      b.max = std::max(b.max, b.values[i]);
    }
  }
  return b;
}

std::string position_label(const InspectResult& result, int64_t position) {
  if (position <= 0) return "BOS";
  if (position > static_cast<int64_t>(result.tokens.size())) return "?";
  const unsigned char byte = result.tokens[static_cast<size_t>(position - 1)];
  switch (byte) {
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case ' ':
      return "' '";
    default:
      break;
  }
  if (byte >= 32 && byte < 127) return std::string(1, static_cast<char>(byte));
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", byte);
  return hex;
}

}  // namespace hg
