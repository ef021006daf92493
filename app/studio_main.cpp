// `hourglass-studio`: the Qt desktop application (docs/ARCHITECTURE.md). It opens on a ready
// default (the fortunes text and the tiny-cpu preset, one click from starting) and can open and
// follow a run folder. Options for demos and tests: --start, --screenshot PATH --quit-after
// SECONDS. Not the CLI (hourglass_cli.cpp); the wiring lives in studio.cpp.
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "app/controller.h"
#include "app/inspect_worker.h"
#include "app/sampler_controller.h"
#include "app/studio.h"
#include "ui/main_window.h"
#include "ui/training/run_panel.h"

namespace {

// Ctrl-C or SIGTERM closes the window as Quit would, so a run in progress saves a checkpoint.
std::atomic<bool> g_quit_requested{false};
extern "C" void on_quit_signal(int) { g_quit_requested = true; }

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("hourglass"));
  QApplication::setApplicationName(QStringLiteral("hourglass-studio"));
  QApplication::setApplicationDisplayName(QStringLiteral("Hourglass Studio"));
  QApplication::setApplicationVersion(QStringLiteral(HOURGLASS_VERSION));
  // The desktop entry and hicolor icon the package installs (packaging/): task bars match the
  // window to them. A build that is not installed finds no such icon and shows none.
  QApplication::setDesktopFileName(QStringLiteral("hourglass-studio"));
  QApplication::setWindowIcon(QIcon::fromTheme(QStringLiteral("hourglass-studio")));
  hg::apply_studio_style(app);

  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Train, watch and sample hierarchical transformers (Hourglass)."));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption run_option(QStringLiteral("run"),
                                      QStringLiteral("Open a run folder and follow its curves."),
                                      QStringLiteral("DIR"));
  const QCommandLineOption preset_option(QStringLiteral("preset"),
                                         QStringLiteral("Load this preset (default: tiny-cpu)."),
                                         QStringLiteral("NAME"));
  const QCommandLineOption data_option(QStringLiteral("data"),
                                       QStringLiteral("Use this data file or folder."),
                                       QStringLiteral("PATH"));
  const QCommandLineOption start_option(QStringLiteral("start"),
                                        QStringLiteral("Start training the Run panel's config."));
  const QCommandLineOption compare_option(
      QStringLiteral("compare"),
      QStringLiteral(
          "Train the Run panel's config, then its vanilla twin (Compare with vanilla)."));
  const QCommandLineOption screenshot_option(
      QStringLiteral("screenshot"),
      QStringLiteral("Save a picture of the window to PATH before quitting (with --quit-after)."),
      QStringLiteral("PATH"));
  const QCommandLineOption quit_option(QStringLiteral("quit-after"),
                                       QStringLiteral("Quit after SECONDS (a run saves first)."),
                                       QStringLiteral("SECONDS"));
  parser.addOptions({run_option, preset_option, data_option, start_option, compare_option,
                     screenshot_option, quit_option});
  parser.process(app);

  hg::Controller controller;  // declared first: destroyed last, after the window
  hg::InspectWorker inspector;
  hg::SamplerController sampler;
  hg::MainWindow window;
  hg::connect_studio(window, controller);
  hg::connect_inspector(window, controller, inspector);
  hg::connect_sampler(window, controller, sampler);
  if (parser.isSet(preset_option)) window.run_panel()->load_preset(parser.value(preset_option));
  if (parser.isSet(data_option)) window.run_panel()->set_data_path(parser.value(data_option));
  window.show();

  std::signal(SIGINT, on_quit_signal);
  std::signal(SIGTERM, on_quit_signal);
  QTimer quit_poll;  // a signal handler may only set a flag; the event loop acts on it
  QObject::connect(&quit_poll, &QTimer::timeout, &window, [&window] {
    if (g_quit_requested) window.close();
  });
  quit_poll.start(200);

  if (parser.isSet(run_option))
    window.open_run(parser.value(run_option));
  else
    window.reopen_last_run();  // the curves and samples of the last session's run
  if (parser.isSet(start_option)) {
    QTimer::singleShot(0, &window, [&window] {
      if (window.start_action()->isEnabled())
        window.start_action()->trigger();
      else
        std::fprintf(stderr, "hourglass-studio: --start: the Run panel's config is not valid: %s\n",
                     qPrintable(window.run_panel()->error_text()));
    });
  }
  if (parser.isSet(compare_option)) {
    QTimer::singleShot(0, &window, [&window] {
      if (!window.run_panel()->compare_enabled())
        std::fprintf(stderr, "hourglass-studio: --compare: %s\n",
                     qPrintable(window.run_panel()->error_text().isEmpty()
                                    ? QStringLiteral("the hierarchy has no vanilla twin")
                                    : window.run_panel()->error_text()));
      else
        Q_EMIT window.run_panel()->compare_requested();
    });
  }
  if (parser.isSet(quit_option)) {
    bool ok = false;
    const double seconds = parser.value(quit_option).toDouble(&ok);
    if (!ok || seconds < 0) {
      std::fprintf(stderr, "hourglass-studio: --quit-after '%s' is not a number of seconds\n",
                   qPrintable(parser.value(quit_option)));
      return 2;
    }
    const QString screenshot = parser.value(screenshot_option);
    QTimer::singleShot(static_cast<int>(seconds * 1000), &window, [&window, screenshot] {
      if (!screenshot.isEmpty() && !window.grab().save(screenshot))
        std::fprintf(stderr, "hourglass-studio: --screenshot: cannot write %s\n",
                     qPrintable(screenshot));
      window.close();
    });
  }
  return app.exec();
}
