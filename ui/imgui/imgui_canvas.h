// A QOpenGLWidget that hosts one Dear ImGui context and draws one full-window ImGui window per
// frame through a caller-supplied function (the curves, the sampler's views, the inspector's). It
// repaints at display rate while the user interacts with it, and at ~10 Hz otherwise. It holds no
// visualizer state and no data: the frame function draws from whatever its owner holds.
#pragma once

#include <QElapsedTimer>
#include <QOpenGLWidget>
#include <QTimer>
#include <functional>
#include <memory>

struct ImGuiContext;
struct ImGuiQtBackend;

class ImGuiCanvas : public QOpenGLWidget {
  Q_OBJECT

 public:
  explicit ImGuiCanvas(QWidget* parent = nullptr);
  ~ImGuiCanvas() override;

  // Called once per frame between ImGui::NewFrame and ImGui::Render with this canvas's context
  // current. The canvas opens a full-size undecorated window ("##canvas") around the call, so the
  // function just draws widgets. Runs inside paintGL: defer dialogs and grabFramebuffer() with
  // QTimer::singleShot(0, ...).
  void set_frame(std::function<void()> frame);
  // Frames drawn so far; tests use it to prove the canvas keeps drawing.
  int frames_drawn() const { return frames_drawn_; }
  // This canvas's context (null before the first show); for tests and tools.
  ImGuiContext* imgui_context() const;

 protected:
  void initializeGL() override;
  void resizeGL(int w, int h) override;
  void paintGL() override;
  bool event(QEvent* event) override;
  void showEvent(QShowEvent* event) override;
  void hideEvent(QHideEvent* event) override;

 private:
  void release_renderer();  // on QOpenGLContext::aboutToBeDestroyed
  void tick();              // the repaint timer: display rate after input, ~10 Hz when idle

  std::unique_ptr<ImGuiQtBackend> backend_;
  std::function<void()> frame_;
  QTimer repaint_timer_;  // ~16 ms: the GUI keeps drawing while a run trains
  QMetaObject::Connection context_destroyed_;
  int frames_drawn_ = 0;
  QElapsedTimer last_input_;
  int idle_ticks_ = 0;
};
