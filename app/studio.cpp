// Window <-> controller wiring. Both live in the GUI thread, so the connections are
// direct; the controller's own signals already arrive from its worker as queued calls.
#include "app/studio.h"

#include <QStatusBar>

#include "app/build_info.h"
#include "app/controller.h"
#include "app/inspect_worker.h"
#include "app/sampler_controller.h"
#include "ui/inspector/inspector_panel.h"
#include "ui/main_window.h"
#include "ui/sampler/sampler_panel.h"
#include "ui/training/run_panel.h"
#include "ui/training/training_panel.h"

namespace hg {

void connect_studio(MainWindow& window, Controller& controller) {
  QObject::connect(&window, &MainWindow::start_requested, &controller,
                   [&controller](const RunConfig& config, const QString& run_dir) {
                     controller.start(config, run_dir);
                   });
  QObject::connect(&window, &MainWindow::continue_requested, &controller,
                   &Controller::continue_run);
  QObject::connect(&window, &MainWindow::pause_requested, &controller, &Controller::pause);
  QObject::connect(&window, &MainWindow::resume_requested, &controller, &Controller::resume);
  QObject::connect(&window, &MainWindow::stop_requested, &controller, &Controller::stop);
  QObject::connect(&window, &MainWindow::save_requested, &controller, &Controller::save_checkpoint);

  // "Compare with vanilla" in the Run panel: both runs on this controller, one after the other.
  RunPanel* run_panel = window.run_panel();
  QObject::connect(run_panel, &RunPanel::compare_requested, &controller,
                   [&window, &controller, run_panel] {
                     window.training_panel()->clear_error();
                     controller.compare(run_panel->run_config(), run_panel->run_dir());
                   });
  QObject::connect(&controller, &Controller::state_changed, run_panel,
                   [run_panel](RunState state) { run_panel->set_idle(state == RunState::kIdle); });
  QObject::connect(&controller, &Controller::comparison_finished, &window,
                   [&window](const QString& dir) {
                     window.statusBar()->showMessage(
                         QObject::tr("Comparison finished: %1/compare.json").arg(dir), 10000);
                   });
  run_panel->set_idle(controller.state() == RunState::kIdle);

  QObject::connect(&controller, &Controller::state_changed, &window, &MainWindow::set_run_state);
  QObject::connect(&controller, &Controller::run_started, &window, &MainWindow::on_run_started);
  QObject::connect(&controller, &Controller::metrics, &window, &MainWindow::on_metrics);
  QObject::connect(&controller, &Controller::checkpoint_saved, &window,
                   &MainWindow::on_checkpoint_saved);
  QObject::connect(&controller, &Controller::run_finished, &window, &MainWindow::on_run_finished);
  QObject::connect(&controller, &Controller::error, &window, &MainWindow::show_error);

  window.run_panel()->set_gpu_count(Controller::gpu_count());
  window.set_device(Controller::default_device());  // sets the thread count a run will use, so
  const BuildInfo build = build_info();             // About's device line agrees with the label
  window.set_about_info(
      {QString::fromStdString(build.libtorch), QString::fromStdString(build.device),
       QString::fromStdString(build.attention), QString::fromStdString(build.build),
       QString::fromStdString(build.assets)});
  window.set_run_state(controller.state());
}

void connect_inspector(MainWindow& window, Controller& controller, InspectWorker& inspector) {
  InspectorPanel* panel = window.inspector_panel();
  QObject::connect(panel, &InspectorPanel::open_requested, &inspector, &InspectWorker::open);
  QObject::connect(panel, &InspectorPanel::inspect_requested, &inspector,
                   [&inspector](const InspectRequest& request) { inspector.inspect(request); });
  QObject::connect(panel, &InspectorPanel::cancel_requested, &inspector, &InspectWorker::cancel);
  QObject::connect(&inspector, &InspectWorker::model_opened, panel, &InspectorPanel::show_model);
  QObject::connect(&inspector, &InspectWorker::inspected, panel, &InspectorPanel::show_snapshot);
  QObject::connect(&inspector, &InspectWorker::failed, panel, &InspectorPanel::show_error);
  QObject::connect(&inspector, &InspectWorker::busy_changed, panel, &InspectorPanel::set_busy);

  // The inspector reads the checkpoints the trainer writes, never the module it trains.
  QObject::connect(&controller, &Controller::run_started, panel,
                   [panel](const QString& run_dir) { panel->set_training_run(run_dir); });
  QObject::connect(
      &controller, &Controller::checkpoint_saved, panel,
      [panel](qint64, const QString& run_dir) { panel->on_training_checkpoint(run_dir); });
  QObject::connect(&controller, &Controller::run_finished, panel,
                   [panel](const QString& run_dir) { panel->on_training_checkpoint(run_dir); });
  QObject::connect(window.training_panel(), &TrainingPanel::sample_changed, panel,
                   &InspectorPanel::set_latest_sample);
  panel->open_source();
}

void connect_sampler(MainWindow& window, Controller& controller, SamplerController& sampler) {
  SamplerPanel* panel = window.sampler_panel();
  QObject::connect(panel, &SamplerPanel::load_requested, &sampler, &SamplerController::load);
  QObject::connect(
      panel, &SamplerPanel::start_requested, &sampler,
      [&sampler, panel](const SampleJob& job) { panel->on_job_queued(sampler.start(job)); });
  QObject::connect(panel, &SamplerPanel::stop_requested, &sampler, &SamplerController::cancel);
  QObject::connect(&sampler, &SamplerController::model_loaded, panel,
                   &SamplerPanel::on_model_loaded);
  QObject::connect(&sampler, &SamplerController::job_started, panel, &SamplerPanel::on_job_started);
  QObject::connect(&sampler, &SamplerController::step, panel, &SamplerPanel::on_step);
  QObject::connect(&sampler, &SamplerController::job_finished, panel,
                   &SamplerPanel::on_job_finished);
  QObject::connect(&sampler, &SamplerController::error, panel, &SamplerPanel::show_error);

  // The sampler reads the checkpoints the trainer writes, never the module it trains.
  QObject::connect(&controller, &Controller::run_started, panel,
                   [panel](const QString& run_dir) { panel->set_run_dir(run_dir); });
  QObject::connect(&controller, &Controller::checkpoint_saved, panel,
                   &SamplerPanel::refresh_checkpoints);
  QObject::connect(&controller, &Controller::run_finished, panel,
                   &SamplerPanel::refresh_checkpoints);
  panel->load_current();
}

}  // namespace hg
