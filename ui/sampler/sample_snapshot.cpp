// SampleSnapshot: filling in the streamed positions, and turning the samples into images and text
// for saving. No drawing here.
#include "ui/sampler/sample_snapshot.h"

#include <algorithm>

void SampleSnapshot::begin(int samples, int64_t tokens_per_sample, int image_channels,
                           const std::vector<int>& known_tokens) {
  clear();
  n = samples;
  length = tokens_per_sample;
  channels = image_channels;
  known = known_tokens;
  while (prompt < static_cast<int64_t>(known.size()) && known[prompt] >= 0) ++prompt;
  prompt = std::min(prompt, length);
  tokens.assign(n, std::vector<uint8_t>(length, 0));
  probs.assign(n, std::vector<float>(length, 1.0f));
  top.assign(n, std::vector<std::array<hg::TokenProb, hg::kTopAlternatives>>(length));
  reported.assign(length, 0);
  for (int s = 0; s < n; ++s)
    for (int64_t i = 0; i < prompt; ++i) tokens[s][i] = static_cast<uint8_t>(known[i]);
  std::fill(reported.begin(), reported.begin() + prompt, 1);
  done = prompt;
}

void SampleSnapshot::add(const hg::SampleStep& step) {
  if (step.position < 0 || step.position >= length) return;
  const int samples = std::min<int>(n, static_cast<int>(step.tokens.size()));
  for (int s = 0; s < samples; ++s) {
    tokens[s][step.position] = static_cast<uint8_t>(step.tokens[s]);
    if (s < static_cast<int>(step.probs.size())) probs[s][step.position] = step.probs[s];
    if (s < static_cast<int>(step.top.size())) top[s][step.position] = step.top[s];
  }
  reported[step.position] = 1;
  done = std::max(done, step.position + 1);
}

int SampleSnapshot::shown_token(int sample, int64_t position) const {
  if (reported[position]) return tokens[sample][position];
  return is_known(position) ? known[position] : -1;
}

hg::Image SampleSnapshot::image(int sample) const {
  hg::Image image;
  image.width = image.height = hg::kImageSide;
  image.channels = channels;
  image.pixels.assign(static_cast<size_t>(hg::kImageSide) * hg::kImageSide * channels, 0);
  const int64_t count = std::min<int64_t>(length, static_cast<int64_t>(image.pixels.size()));
  for (int64_t i = 0; i < count; ++i) {
    const int token = shown_token(sample, i);
    if (token >= 0) image.pixels[i] = static_cast<uint8_t>(token);
  }
  return image;
}

hg::Image SampleSnapshot::grid_image() const {
  std::vector<uint8_t> all;
  for (int s = 0; s < n; ++s) {
    const hg::Image one = image(s);
    all.insert(all.end(), one.pixels.begin(), one.pixels.end());
  }
  return hg::grid(all.data(), n, hg::kImageSide, hg::kImageSide, channels);
}

std::string SampleSnapshot::text() const {
  std::string out;
  for (int s = 0; s < n; ++s) {
    if (n > 1) out += "=== sample " + std::to_string(s + 1) + " ===\n";
    for (int64_t i = 0; i < done; ++i)
      if (reported[i]) out += static_cast<char>(tokens[s][i]);
    if (n > 1) out += "\n";
  }
  return out;
}
