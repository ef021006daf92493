// Window <-> controller wiring (issue 5). Both live in the GUI thread, so the connections are
// direct; the controller's own signals already arrive from its worker as queued calls.
#include "app/studio.h"

#include "app/controller.h"
#include "ui/main_window.h"

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

  QObject::connect(&controller, &Controller::state_changed, &window, &MainWindow::set_run_state);
  QObject::connect(&controller, &Controller::run_started, &window, &MainWindow::on_run_started);
  QObject::connect(&controller, &Controller::metrics, &window, &MainWindow::on_metrics);
  QObject::connect(&controller, &Controller::checkpoint_saved, &window,
                   &MainWindow::on_checkpoint_saved);
  QObject::connect(&controller, &Controller::run_finished, &window, &MainWindow::on_run_finished);
  QObject::connect(&controller, &Controller::error, &window, &MainWindow::show_error);

  window.set_device(Controller::default_device());
  window.set_engine_version(Controller::engine_version());
  window.set_run_state(controller.state());
}

}  // namespace hg
