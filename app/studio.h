// The one place where the studio's window (ui/) meets its training controller (app/): the
// window's requests become Controller calls and the controller's signals reach the window.
// Shared by hourglass-studio's main() and the GUI tests, so both run the same wiring.
#pragma once

namespace hg {

class Controller;
class MainWindow;

void connect_studio(MainWindow& window, Controller& controller);

}  // namespace hg
