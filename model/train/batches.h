// Token batches for training and evaluation (docs/MODEL.md for the tokens; the same data order on
// resume: docs/ARCHITECTURE.md). Training batches are a pure function of (seed, step, micro-batch),
// so a resumed run draws exactly the batches the uninterrupted run would have. Not the loaders:
// data.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/data/data.h"

namespace hg {

class Batcher {
 public:
  // seq_len: the model's input length (BOS included). Image data needs seq_len equal to the
  // image's sub-pixel count, so that a sequence is one whole image; throws otherwise.
  Batcher(const Dataset& data, int seq_len);

  // (B, seq_len + 1) int64: BOS then seq_len tokens. Inputs are [:, :-1], targets [:, 1:].
  torch::Tensor train_batch(int batch, uint64_t seed, int64_t step, int micro) const;
  // Rows [first, first + rows) of train_batch(batch, ...): one data-parallel rank's shard.
  torch::Tensor train_rows(int batch, int first, int rows, uint64_t seed, int64_t step,
                           int micro) const;
  // The index-th evaluation batch of a split: consecutive windows (text) or images, the same
  // every time. Fewer than `batch` rows at the end of a split; 0 rows past it.
  torch::Tensor eval_batch(Split split, int batch, int64_t index) const;
  // How many evaluation sequences a split holds.
  int64_t eval_sequences(Split split) const;

  int seq_len() const { return seq_len_; }

 private:
  // Copies sequence `index` of the split (a window start for text, an image index) into row.
  void fill_row(const std::vector<uint8_t>& source, int64_t start, int64_t* row) const;

  const Dataset& data_;
  int seq_len_;
};

}  // namespace hg
