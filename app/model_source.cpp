// Opening a model source for the CLI and the studio's workers (app/model_source.h): one place for
// finding its run, reading its config.json and loading its weights. Not the checkpoint files.
#include "app/model_source.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "model/data/data.h"
#include "model/io/inspection_files.h"
#include "model/nn/device.h"
#include "model/nn/hourglass.h"
#include "model/train/checkpoint.h"

namespace hg {

namespace fs = std::filesystem;

std::string run_dir_of(const ModelSource& source) {
  if (!source.run_dir.empty()) return source.run_dir;
  const fs::path folder = fs::path(source.weights).parent_path();
  std::error_code error;
  if (folder.filename() == "checkpoints" &&
      fs::is_regular_file(folder.parent_path() / "config.json", error))
    return folder.parent_path().string();
  return "";
}

RunConfig read_run_config(const std::string& run_dir) {
  return run_config_from_json(read_json_file((fs::path(run_dir) / "config.json").string()));
}

int channels_of(const ModelSource& source) {
  const std::string run_dir = run_dir_of(source);
  if (!run_dir.empty()) {
    try {
      const TrainConfig train = read_run_config(run_dir).train;
      const DataFormat format =
          train.format.empty() ? guess_format(train.data) : parse_format(train.format);
      if (format == DataFormat::kText) return 0;
    } catch (const std::exception&) {
      // An unreadable config.json: fall back to the length, as for a bare file.
    }
  }
  return image_channels(source.config);
}

Hourglass open_model(const ModelSource& source, const std::string& device) {
  Hourglass model(source.config);
  load_weights(model, source.weights);
  model->to(resolve_device(device));
  model->eval();
  return model;
}

}  // namespace hg
