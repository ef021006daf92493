// Batch drawing. Text windows start anywhere in the train split; images are drawn whole.
#include "model/train/batches.h"

#include <random>
#include <stdexcept>

#include "model/core/config.h"

namespace hg {
namespace {

// SplitMix64: decorrelates (seed, step, micro) into a generator seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

Batcher::Batcher(const Dataset& data, int seq_len) : data_(data), seq_len_(seq_len) {
  if (data.is_image()) {
    if (static_cast<size_t>(seq_len) != data.image_bytes())
      throw std::invalid_argument(
          "seq_len = " + std::to_string(seq_len) + " does not fit " + data.path + ": one " +
          std::to_string(data.width) + "x" + std::to_string(data.height) + "x" +
          std::to_string(data.channels) + " image is " + std::to_string(data.image_bytes()) +
          " tokens. HINT: use --seq-len " + std::to_string(data.image_bytes()));
    if (data.count(Split::kTrain) == 0 || data.count(Split::kVal) == 0)
      throw std::invalid_argument("Batcher: " + data.path +
                                  " needs at least one image in train and in val");
  } else if (data.train.size() <= static_cast<size_t>(seq_len) ||
             data.val.size() < static_cast<size_t>(seq_len)) {
    throw std::invalid_argument("seq_len = " + std::to_string(seq_len) + " is too long for " +
                                data.path + " (train " + std::to_string(data.train.size()) +
                                " bytes, val " + std::to_string(data.val.size()) +
                                " bytes). HINT: use a shorter --seq-len or more text");
  }
}

void Batcher::fill_row(const std::vector<uint8_t>& source, int64_t start, int64_t* row) const {
  row[0] = kBosToken;
  for (int64_t i = 0; i < seq_len_; ++i) row[i + 1] = source[start + i];
}

torch::Tensor Batcher::train_batch(int batch, uint64_t seed, int64_t step, int micro) const {
  return train_rows(batch, 0, batch, seed, step, micro);
}

torch::Tensor Batcher::train_rows(int batch, int first, int rows, uint64_t seed, int64_t step,
                                  int micro) const {
  if (first < 0 || rows < 0 || first + rows > batch)
    throw std::invalid_argument("Batcher::train_rows: rows [" + std::to_string(first) + ", " +
                                std::to_string(first + rows) + ") are not within a batch of " +
                                std::to_string(batch));
  std::mt19937_64 rng(mix(mix(seed) ^ mix(static_cast<uint64_t>(step) * 1024 + micro)));
  auto tokens = torch::empty({rows, seq_len_ + 1}, torch::kLong);  // (rows, T+1)
  const auto& source = data_.train;
  const int64_t choices = data_.is_image() ? static_cast<int64_t>(data_.count(Split::kTrain))
                                           : static_cast<int64_t>(source.size()) - seq_len_;
  std::uniform_int_distribution<int64_t> pick(0, choices - 1);
  for (int b = 0; b < first + rows; ++b) {
    const int64_t index = pick(rng);  // rows before `first` are drawn too: the same sequence
    if (b < first) continue;
    fill_row(source, data_.is_image() ? index * seq_len_ : index,
             tokens.data_ptr<int64_t>() + (b - first) * (seq_len_ + 1));
  }
  return tokens;
}

int64_t Batcher::eval_sequences(Split split) const {
  const auto& source = data_.split(split);
  return static_cast<int64_t>(source.size()) / seq_len_;  // whole images or whole windows
}

torch::Tensor Batcher::eval_batch(Split split, int batch, int64_t index) const {
  const int64_t total = eval_sequences(split);
  const int64_t first = index * batch;
  const int64_t rows = std::max<int64_t>(0, std::min<int64_t>(batch, total - first));
  auto tokens = torch::empty({rows, seq_len_ + 1}, torch::kLong);  // (rows, T+1)
  for (int64_t r = 0; r < rows; ++r)
    fill_row(data_.split(split), (first + r) * seq_len_,
             tokens.data_ptr<int64_t>() + r * (seq_len_ + 1));
  return tokens;
}

}  // namespace hg
