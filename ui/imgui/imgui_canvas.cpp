// ImGuiCanvas: the QOpenGLWidget side of the ImGui hosting — GL context lifetime, the repaint
// timer and the full-window ImGui window around the owner's frame function. The Qt<->ImGui
// translation itself is in imgui_qt_backend.cpp; what is drawn is the owner's business.
#include "ui/imgui/imgui_canvas.h"

#include <imgui.h>

#include <QEvent>
#include <QOpenGLContext>
#include <QOpenGLFunctions>

#include "ui/imgui/imgui_qt_backend.h"

namespace {
constexpr int kRepaintIntervalMs = 16;  // ~60 Hz; Qt's swap interval paces it further
// Without input the canvas still redraws, at ~10 Hz: live curves keep moving, while a laptop
// without a GPU (software OpenGL) keeps its cores for training rather than redrawing an idle plot.
constexpr int kIdleTicksPerFrame = 6;
constexpr int kActiveAfterInputMs = 1000;  // display rate for this long after the last input

bool is_mouse_event(QEvent::Type type) {
  switch (type) {
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonRelease:
    case QEvent::MouseButtonDblClick:
    case QEvent::MouseMove:
    case QEvent::Wheel:
      return true;
    default:
      return false;
  }
}

}  // namespace

ImGuiCanvas::ImGuiCanvas(QWidget* parent)
    : QOpenGLWidget(parent), backend_(std::make_unique<ImGuiQtBackend>()) {
  setMouseTracking(true);  // hover read-outs need moves without a button held
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(200, 120);
  repaint_timer_.setInterval(kRepaintIntervalMs);
  connect(&repaint_timer_, &QTimer::timeout, this, &ImGuiCanvas::tick);
  last_input_.start();
}

ImGuiCanvas::~ImGuiCanvas() {
  // The GL context may outlive this call only until QOpenGLWidget's destructor: release the
  // renderer while it can still be made current.
  if (context_destroyed_) disconnect(context_destroyed_);
  if (context()) makeCurrent();
  ImGui_ImplQt_Shutdown(backend_.get());
  if (context()) doneCurrent();
}

void ImGuiCanvas::set_frame(std::function<void()> frame) { frame_ = std::move(frame); }

ImGuiContext* ImGuiCanvas::imgui_context() const { return backend_->context; }

void ImGuiCanvas::initializeGL() {
  // Qt calls this again with a new context when the widget is re-parented (a dock floats or
  // re-docks); the old context's renderer was released in release_renderer().
  if (context_destroyed_) disconnect(context_destroyed_);
  context_destroyed_ =
      connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, &ImGuiCanvas::release_renderer);
  if (!ImGui_ImplQt_Init(backend_.get(), this))
    qWarning("ImGuiCanvas::initializeGL: the Dear ImGui OpenGL 3 renderer failed to initialise");
}

void ImGuiCanvas::release_renderer() {
  makeCurrent();
  ImGui_ImplQt_ShutdownRenderer(backend_.get());
  doneCurrent();
}

void ImGuiCanvas::resizeGL(int, int) {}  // NewFrame reads the size every frame

void ImGuiCanvas::paintGL() {
  if (!backend_->renderer_ready) return;
  QOpenGLFunctions* gl = context()->functions();
  // Matches ImGuiCol_WindowBg, so nothing flashes before the first ImGui frame.
  gl->glClearColor(0.208f, 0.208f, 0.208f, 1.0f);
  gl->glClear(GL_COLOR_BUFFER_BIT);

  ImGui_ImplQt_NewFrame(backend_.get());
  ImGui::NewFrame();
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  constexpr ImGuiWindowFlags kFlags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                      ImGuiWindowFlags_NoSavedSettings |
                                      ImGuiWindowFlags_NoBringToFrontOnFocus;
  if (ImGui::Begin("##canvas", nullptr, kFlags) && frame_) frame_();
  ImGui::End();
  ImGui::Render();
  ImGui_ImplQt_RenderDrawData(backend_.get());
  ++frames_drawn_;
}

void ImGuiCanvas::tick() {
  if (last_input_.elapsed() < kActiveAfterInputMs || ++idle_ticks_ >= kIdleTicksPerFrame) {
    idle_ticks_ = 0;
    update();
  }
}

bool ImGuiCanvas::event(QEvent* event) {
  const bool imgui_wants = ImGui_ImplQt_ProcessEvent(backend_.get(), event);
  const QEvent::Type type = event->type();
  const bool mouse = is_mouse_event(type);
  const bool key = type == QEvent::KeyPress || type == QEvent::KeyRelease;
  if (mouse || key || type == QEvent::Enter || type == QEvent::Leave) last_input_.restart();
  if (mouse || key) update();
  // The whole canvas is ImGui's. Draw the next frame now rather than at the next tick, so a
  // held-back release reaches ImGui promptly. Keys ImGui does not want (e.g. typing in an ImGui
  // text field) stay with Qt, which keeps Tab focus moves.
  if (mouse || (key && imgui_wants)) {
    event->accept();
    return true;
  }
  return QOpenGLWidget::event(event);
}

void ImGuiCanvas::showEvent(QShowEvent* event) {
  repaint_timer_.start();
  QOpenGLWidget::showEvent(event);
}

void ImGuiCanvas::hideEvent(QHideEvent* event) {
  repaint_timer_.stop();
  QOpenGLWidget::hideEvent(event);
}
