// Whole-split evaluation (model/tools/full_eval.h): the sliding windows score every byte once with
// the promised context, stride = context gives the trainer's mean over disjoint windows, a ragged
// split is scored byte by byte as one window at a time would score it, images are scored whole,
// and the trainer's validation lines say which protocol made them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <random>

#include "model/core/config.h"
#include "model/tools/full_eval.h"
#include "model/train/trainer.h"

namespace hg {
namespace {

// Text of `val_bytes` in val (and test), word salad so that a few steps teach the model something.
std::shared_ptr<Dataset> text_data(size_t val_bytes) {
  const char* words[] = {"the ", "hourglass ", "shortens ", "and ", "lengthens ", "tokens.\n"};
  std::mt19937 rng(7);
  std::string text;
  while (text.size() < 4000 + 2 * val_bytes) text += words[rng() % 6];
  auto data = std::make_shared<Dataset>();
  data->path = "word salad";
  data->train.assign(text.begin(), text.begin() + 4000);
  data->val.assign(text.begin() + 4000, text.begin() + 4000 + val_bytes);
  data->test.assign(text.begin() + 4000 + val_bytes, text.begin() + 4000 + 2 * val_bytes);
  return data;
}

RunConfig eval_run(int seq_len) {
  RunConfig c;
  c.model.hierarchy = "1@1 1@3 1@1";
  c.model.d_model = 32;
  c.model.n_heads = 2;
  c.model.seq_len = seq_len;
  c.train.data = "word salad";
  c.train.steps = 8;
  c.train.batch = 4;
  c.train.lr = 3e-3;
  c.train.warmup_steps = 1;
  c.train.eval_batches = 1000;  // every window of the split
  c.train.device = "cpu";
  return c;
}

// A trainer whose model has taken a few steps, so that its losses differ from token to token.
std::unique_ptr<Trainer> trained(const RunConfig& config, std::shared_ptr<Dataset> data) {
  auto trainer = std::make_unique<Trainer>(config, data);
  for (int i = 0; i < 8; ++i) trainer->train_step();
  return trainer;
}

TEST(FullEval, SlidingWindowsScoreEveryByteOnceWithTheContextBefore) {
  for (int64_t length : {0, 1, 5, 127, 128, 129, 1000})
    for (int64_t context : {1, 8, 128})
      for (int64_t stride : {int64_t{1}, std::max<int64_t>(1, context / 2), context}) {
        const auto windows = sliding_windows(length, context, stride);
        int64_t scored_to = 0;
        for (size_t i = 0; i < windows.size(); ++i) {
          const ScoredWindow& w = windows[i];
          SCOPED_TRACE(testing::Message() << "length " << length << " context " << context
                                          << " stride " << stride << " window " << i);
          ASSERT_EQ(w.first_scored, scored_to);  // no byte skipped, none scored twice
          ASSERT_GT(w.end, w.first_scored);
          ASSERT_EQ(w.end - w.start, std::min(length, context));
          ASSERT_GE(w.start, 0);
          ASSERT_LE(w.end, length);
          if (i > 0) ASSERT_GE(w.first_scored - w.start, context - stride);
          ASSERT_LE(w.end - w.first_scored, i == 0 ? context : stride);
          scored_to = w.end;
        }
        EXPECT_EQ(scored_to, length);
      }
  EXPECT_THROW(sliding_windows(100, 0, 1), std::invalid_argument);
  EXPECT_THROW(sliding_windows(100, 8, 9), std::invalid_argument);
  EXPECT_THROW(sliding_windows(100, 8, 0), std::invalid_argument);
}

TEST(FullEval, StrideEqualToContextIsTheMeanOverDisjointWindows) {
  auto data = text_data(/*val_bytes=*/48 * 7);  // 7 whole windows
  auto trainer = trained(eval_run(48), data);
  const Metrics disjoint = trainer->evaluate(Split::kVal);
  FullEvalOptions options;
  options.context = options.stride = 48;
  options.batch = 3;  // batches of 3, 3 and 1 windows
  const FullEvalResult full = evaluate_full(trainer->model(), *data, Split::kVal, options);
  EXPECT_EQ(full.tokens, 48 * 7);
  EXPECT_EQ(full.windows, 7);
  EXPECT_TRUE(full.complete);
  EXPECT_EQ(full.protocol, "sliding 48/48");
  EXPECT_NEAR(full.loss, disjoint.loss, 1e-5 * disjoint.loss);
  EXPECT_NEAR(full.bits, disjoint.bits_per_token, 1e-5 * disjoint.bits_per_token);
  EXPECT_LT(full.loss, 0.95 * std::log(256.0));  // the model learned something to compare
  // The trainer's own figure names its protocol, here and in its metrics line.
  EXPECT_EQ(disjoint.eval, "windows 7x48");
  EXPECT_NE(disjoint.to_json_line().find("\"eval\":\"windows 7x48\""), std::string::npos);
}

TEST(FullEval, RaggedSplitIsScoredByteByByteAsOneWindowAtATime) {
  auto data = text_data(/*val_bytes=*/203);
  auto trainer = trained(eval_run(48), data);
  FullEvalOptions options;
  options.context = 16;
  options.stride = 5;
  options.batch = 7;
  const FullEvalResult full = evaluate_full(trainer->model(), *data, Split::kVal, options);
  EXPECT_EQ(full.tokens, 203);  // the split's length: complete
  const auto windows = sliding_windows(203, 16, 5);
  EXPECT_EQ(full.windows, static_cast<int64_t>(windows.size()));

  // The same, one window at a time, through log_softmax rather than cross_entropy.
  torch::NoGradGuard no_grad;
  trainer->model()->eval();
  double nats = 0.0;
  for (const ScoredWindow& w : windows) {
    std::vector<int64_t> row = {kBosToken};
    for (int64_t i = w.start; i < w.end; ++i) row.push_back(data->val[i]);
    const auto tokens = torch::tensor(row).unsqueeze(0);  // (1, 17)
    const auto logp =
        torch::log_softmax(trainer->model()(tokens.narrow(1, 0, 16)), -1);  // (1, 16, 256)
    for (int64_t i = w.first_scored; i < w.end; ++i)
      nats -= logp[0][i - w.start][data->val[i]].item<double>();
  }
  EXPECT_NEAR(full.loss, nats / 203, 1e-5 * full.loss);
  // Defaults: the model's seq_len, half of it as the stride.
  const FullEvalResult defaults = evaluate_full(trainer->model(), *data, Split::kVal, {});
  EXPECT_EQ(defaults.protocol, "sliding 48/24");
  EXPECT_EQ(defaults.tokens, 203);
}

TEST(FullEval, ImagesAreScoredWholeEveryOne) {
  auto data = std::make_shared<Dataset>();
  data->format = DataFormat::kImages;
  data->path = "tiles";
  data->height = data->width = 4;
  data->channels = 1;
  std::mt19937 rng(3);
  for (auto* split : {&data->train, &data->val, &data->test})
    for (int i = 0; i < 16 * 10; ++i) split->push_back(static_cast<uint8_t>(rng() % 4 * 60));
  auto trainer = trained(eval_run(16), data);
  const Metrics disjoint = trainer->evaluate(Split::kTest);
  FullEvalOptions options;
  options.batch = 4;
  options.context = 3;  // ignored for images: an image is always whole
  const FullEvalResult full = evaluate_full(trainer->model(), *data, Split::kTest, options);
  EXPECT_EQ(full.protocol, "whole 10x16");
  EXPECT_EQ(full.tokens, 160);
  EXPECT_NEAR(full.loss, disjoint.loss, 1e-5 * disjoint.loss);
}

TEST(FullEval, BadOptionsAndAStopRequestAreHandled) {
  auto data = text_data(/*val_bytes=*/200);
  Trainer trainer(eval_run(48), data);
  FullEvalOptions options;
  options.context = 16;
  options.stride = 17;
  try {
    evaluate_full(trainer.model(), *data, Split::kVal, options);
    ADD_FAILURE() << "a stride past the context was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--stride = 17"), std::string::npos) << e.what();
  }
  options.stride = 4;
  options.batch = 0;
  EXPECT_THROW(evaluate_full(trainer.model(), *data, Split::kVal, options), std::invalid_argument);
  // Stopped after the first batch: what was scored so far, marked incomplete.
  options.batch = 2;
  int calls = 0;
  const FullEvalResult part =
      evaluate_full(trainer.model(), *data, Split::kVal, options, [&](int64_t done, int64_t) {
        ++calls;
        EXPECT_EQ(done, 2);
        return false;
      });
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(part.complete);
  EXPECT_EQ(part.windows, 2);
  EXPECT_EQ(part.tokens, 16 + 4);
  EXPECT_TRUE(trainer.model()->is_training());  // its mode is given back
}

}  // namespace
}  // namespace hg
