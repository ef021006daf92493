// The one place where the studio's window (ui/) meets its training controller (app/): the
// window's requests become Controller calls and the controller's signals reach the window.
// Shared by hourglass-studio's main() and the GUI tests, so both run the same wiring.
#pragma once

namespace hg {

class Controller;
class InspectWorker;
class MainWindow;
class SamplerController;

void connect_studio(MainWindow& window, Controller& controller);
// The Inspector dock <-> its worker, and the training run's checkpoints and samples to the dock.
void connect_inspector(MainWindow& window, Controller& controller, InspectWorker& inspector);
// The Sampler dock <-> its worker, and the training run's checkpoints to the dock's list
// of model sources. Asks for the dock's default model (the demo text model) at once.
void connect_sampler(MainWindow& window, Controller& controller, SamplerController& sampler);

}  // namespace hg
