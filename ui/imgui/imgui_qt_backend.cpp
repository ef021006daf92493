// Dear ImGui 1.86 platform glue for Qt (events, timing, HiDPI, cursor, clipboard) and the calls
// into the OpenGL 3 renderer from libimgui.a. Not a widget and not a visualizer: see
// imgui_canvas.h for the widget that drives it.
#include "ui/imgui/imgui_qt_backend.h"

#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <QClipboard>
#include <QFile>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLWidget>
#include <QWheelEvent>

namespace {

constexpr float kFontSize = 15.0f;  // logical pixels: readable beside Qt's default widget font

// Fonts tried in order; ImGui's built-in bitmap font is the fallback (blurry when scaled).
constexpr const char* kFontPaths[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
};

// Makes the backend's context current for the lifetime of the guard, and restores the previous
// one: several canvases share the thread, each with its own context.
class ContextGuard {
 public:
  explicit ContextGuard(ImGuiContext* context) : previous_(ImGui::GetCurrentContext()) {
    ImGui::SetCurrentContext(context);
  }
  ~ContextGuard() { ImGui::SetCurrentContext(previous_); }

 private:
  ImGuiContext* previous_;
};

// Qt key codes are either Latin-1 (< 0x100) or 0x01000000 + n for special keys (n < 0x100 for
// every key ImGui maps): both fit io.KeysDown[512] as n and 256 + n. -1: not representable.
int key_index(int qt_key) {
  if (qt_key >= 0 && qt_key < 256) return qt_key;
  if (qt_key >= 0x01000000 && qt_key < 0x01000100) return 256 + (qt_key - 0x01000000);
  return -1;
}

int mouse_button_index(Qt::MouseButton button) {
  switch (button) {
    case Qt::LeftButton:
      return 0;
    case Qt::RightButton:
      return 1;
    case Qt::MiddleButton:
      return 2;
    case Qt::BackButton:
      return 3;
    case Qt::ForwardButton:
      return 4;
    default:
      return -1;
  }
}

void set_key_map(ImGuiIO& io) {
  const struct {
    ImGuiKey imgui;
    int qt;
  } keys[] = {
      {ImGuiKey_Tab, Qt::Key_Tab},
      {ImGuiKey_LeftArrow, Qt::Key_Left},
      {ImGuiKey_RightArrow, Qt::Key_Right},
      {ImGuiKey_UpArrow, Qt::Key_Up},
      {ImGuiKey_DownArrow, Qt::Key_Down},
      {ImGuiKey_PageUp, Qt::Key_PageUp},
      {ImGuiKey_PageDown, Qt::Key_PageDown},
      {ImGuiKey_Home, Qt::Key_Home},
      {ImGuiKey_End, Qt::Key_End},
      {ImGuiKey_Insert, Qt::Key_Insert},
      {ImGuiKey_Delete, Qt::Key_Delete},
      {ImGuiKey_Backspace, Qt::Key_Backspace},
      {ImGuiKey_Space, Qt::Key_Space},
      {ImGuiKey_Enter, Qt::Key_Return},
      {ImGuiKey_Escape, Qt::Key_Escape},
      {ImGuiKey_KeyPadEnter, Qt::Key_Enter},
      {ImGuiKey_A, Qt::Key_A},
      {ImGuiKey_C, Qt::Key_C},
      {ImGuiKey_V, Qt::Key_V},
      {ImGuiKey_X, Qt::Key_X},
      {ImGuiKey_Y, Qt::Key_Y},
      {ImGuiKey_Z, Qt::Key_Z},
  };
  for (const auto& k : keys) io.KeyMap[k.imgui] = key_index(k.qt);
}

const char* get_clipboard(void* user_data) {
  auto* backend = static_cast<ImGuiQtBackend*>(user_data);
  backend->clipboard = QGuiApplication::clipboard()->text().toStdString();
  return backend->clipboard.c_str();
}

void set_clipboard(void*, const char* text) {
  QGuiApplication::clipboard()->setText(QString::fromUtf8(text));
}

// Bakes the font atlas at the screen's pixel density and scales it back to logical pixels, so
// text stays sharp on HiDPI screens. The renderer's NewFrame only creates a missing font texture
// together with its shaders, so an existing one is replaced here (the GL context is current).
void rebuild_fonts(ImGuiQtBackend* backend, float dpr) {
  ImGuiIO& io = ImGui::GetIO();
  const bool uploaded = backend->renderer_ready && io.Fonts->TexID != nullptr;
  io.Fonts->Clear();
  ImFontConfig config;
  config.OversampleH = 2;
  bool loaded = false;
  for (const char* path : kFontPaths) {
    if (QFile::exists(path) && io.Fonts->AddFontFromFileTTF(path, kFontSize * dpr, &config)) {
      loaded = true;
      break;
    }
  }
  if (!loaded) {
    config.SizePixels = 13.0f * dpr;
    io.Fonts->AddFontDefault(&config);
  }
  io.FontGlobalScale = 1.0f / dpr;
  if (uploaded) {
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
  }
  backend->font_scale_dpr = dpr;
}

// Dark style matching Qt's Fusion dark palette (window #353535, base #2a2a2a, highlight #2a82da).
void apply_style() {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 0.0f;
  style.FrameRounding = 3.0f;
  style.GrabRounding = 3.0f;
  style.WindowBorderSize = 0.0f;
  style.FramePadding = ImVec2(6, 4);
  style.ItemSpacing = ImVec2(8, 6);
  ImVec4* c = style.Colors;
  const ImVec4 window(0.208f, 0.208f, 0.208f, 1.0f);
  const ImVec4 base(0.165f, 0.165f, 0.165f, 1.0f);
  const ImVec4 highlight(0.165f, 0.510f, 0.855f, 1.0f);
  c[ImGuiCol_WindowBg] = window;
  c[ImGuiCol_ChildBg] = window;
  c[ImGuiCol_PopupBg] = ImVec4(0.15f, 0.15f, 0.15f, 0.97f);
  c[ImGuiCol_Border] = ImVec4(0.32f, 0.32f, 0.32f, 1.0f);
  c[ImGuiCol_FrameBg] = base;
  c[ImGuiCol_FrameBgHovered] = ImVec4(0.24f, 0.24f, 0.24f, 1.0f);
  c[ImGuiCol_FrameBgActive] = ImVec4(0.28f, 0.28f, 0.28f, 1.0f);
  c[ImGuiCol_Button] = ImVec4(0.27f, 0.27f, 0.27f, 1.0f);
  c[ImGuiCol_ButtonHovered] = ImVec4(0.33f, 0.33f, 0.33f, 1.0f);
  c[ImGuiCol_ButtonActive] = highlight;
  c[ImGuiCol_Header] = ImVec4(0.27f, 0.27f, 0.27f, 1.0f);
  c[ImGuiCol_HeaderHovered] = ImVec4(0.165f, 0.510f, 0.855f, 0.6f);
  c[ImGuiCol_HeaderActive] = highlight;
  c[ImGuiCol_CheckMark] = highlight;
  c[ImGuiCol_SliderGrab] = highlight;
  c[ImGuiCol_SliderGrabActive] = ImVec4(0.30f, 0.60f, 0.95f, 1.0f);
  c[ImGuiCol_TextSelectedBg] = ImVec4(0.165f, 0.510f, 0.855f, 0.45f);
}

}  // namespace

bool ImGui_ImplQt_Init(ImGuiQtBackend* backend, QOpenGLWidget* widget) {
  backend->widget = widget;
  if (!backend->context) {
    backend->context = ImGui::CreateContext();
    ContextGuard guard(backend->context);
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // the Qt main window saves the layout; ImGui keeps none
    io.BackendPlatformName = "imgui_impl_qt";
    io.BackendFlags |= ImGuiBackendFlags_HasMouseCursors;
    io.ClipboardUserData = backend;
    io.GetClipboardTextFn = get_clipboard;
    io.SetClipboardTextFn = set_clipboard;
    set_key_map(io);
    apply_style();
    backend->last_frame = std::chrono::steady_clock::now();
  }
  if (backend->renderer_ready) return true;
  ContextGuard guard(backend->context);
  // 3.3 core where the context has it (Mesa llvmpipe gives 4.5 core), else GLSL 1.30 (GL 3.0);
  // GLSL ES 3.00 where Qt runs on OpenGL ES.
  const QSurfaceFormat format = QOpenGLContext::currentContext()->format();
  const char* glsl = format.renderableType() == QSurfaceFormat::OpenGLES ? "#version 300 es"
                     : format.version() >= qMakePair(3, 3)               ? "#version 330 core"
                                                                         : "#version 130";
  backend->renderer_ready = ImGui_ImplOpenGL3_Init(glsl);
  return backend->renderer_ready;
}

void ImGui_ImplQt_ShutdownRenderer(ImGuiQtBackend* backend) {
  if (!backend->context || !backend->renderer_ready) return;
  ContextGuard guard(backend->context);
  ImGui_ImplOpenGL3_Shutdown();
  backend->renderer_ready = false;
}

void ImGui_ImplQt_Shutdown(ImGuiQtBackend* backend) {
  if (!backend->context) return;
  ImGui_ImplQt_ShutdownRenderer(backend);
  ImGuiContext* context = backend->context;
  if (ImGui::GetCurrentContext() == context) ImGui::SetCurrentContext(nullptr);
  ImGui::DestroyContext(context);
  backend->context = nullptr;
}

void ImGui_ImplQt_NewFrame(ImGuiQtBackend* backend) {
  ImGui::SetCurrentContext(backend->context);  // stays current through Render()
  ImGuiIO& io = ImGui::GetIO();
  QOpenGLWidget* widget = backend->widget;

  const float dpr = static_cast<float>(widget->devicePixelRatioF());
  if (dpr != backend->font_scale_dpr) rebuild_fonts(backend, dpr);
  io.DisplaySize =
      ImVec2(static_cast<float>(widget->width()), static_cast<float>(widget->height()));
  io.DisplayFramebufferScale = ImVec2(dpr, dpr);

  const auto now = std::chrono::steady_clock::now();
  const float dt = std::chrono::duration<float>(now - backend->last_frame).count();
  io.DeltaTime = dt > 0.0f ? dt : 1.0f / 1000.0f;  // ImGui asserts DeltaTime > 0
  backend->last_frame = now;

  io.MousePos = backend->mouse_inside ? ImVec2(backend->mouse_x, backend->mouse_y)
                                      : ImVec2(-FLT_MAX, -FLT_MAX);
  for (int i = 0; i < ImGuiQtBackend::kMouseButtons; ++i) {
    io.MouseDown[i] = backend->mouse_down[i] || backend->mouse_pressed[i];
    backend->mouse_pressed[i] = false;
  }
  for (int i = 0; i < 512; ++i) {
    io.KeysDown[i] = backend->key_down[i] || backend->key_pressed[i];
    backend->key_pressed[i] = false;
  }
  const Qt::KeyboardModifiers mods = QGuiApplication::queryKeyboardModifiers();
  io.KeyCtrl = mods & Qt::ControlModifier;
  io.KeyShift = mods & Qt::ShiftModifier;
  io.KeyAlt = mods & Qt::AltModifier;
  io.KeySuper = mods & Qt::MetaModifier;

  ImGui_ImplOpenGL3_NewFrame();
}

void ImGui_ImplQt_RenderDrawData(ImGuiQtBackend* backend) {
  ImGui::SetCurrentContext(backend->context);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

  Qt::CursorShape shape = Qt::ArrowCursor;
  switch (ImGui::GetMouseCursor()) {
    case ImGuiMouseCursor_TextInput:
      shape = Qt::IBeamCursor;
      break;
    case ImGuiMouseCursor_ResizeAll:
      shape = Qt::SizeAllCursor;
      break;
    case ImGuiMouseCursor_ResizeNS:
      shape = Qt::SizeVerCursor;
      break;
    case ImGuiMouseCursor_ResizeEW:
      shape = Qt::SizeHorCursor;
      break;
    case ImGuiMouseCursor_ResizeNESW:
      shape = Qt::SizeBDiagCursor;
      break;
    case ImGuiMouseCursor_ResizeNWSE:
      shape = Qt::SizeFDiagCursor;
      break;
    case ImGuiMouseCursor_Hand:
      shape = Qt::PointingHandCursor;
      break;
    case ImGuiMouseCursor_NotAllowed:
      shape = Qt::ForbiddenCursor;
      break;
    default:
      break;
  }
  if (backend->widget->cursor().shape() != shape) backend->widget->setCursor(shape);
}

bool ImGui_ImplQt_ProcessEvent(ImGuiQtBackend* backend, QEvent* event) {
  if (!backend->context) return false;
  ContextGuard guard(backend->context);
  ImGuiIO& io = ImGui::GetIO();
  switch (event->type()) {
    case QEvent::MouseMove:
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonDblClick:
    case QEvent::MouseButtonRelease: {
      auto* mouse = static_cast<QMouseEvent*>(event);
      backend->mouse_x = static_cast<float>(mouse->position().x());
      backend->mouse_y = static_cast<float>(mouse->position().y());
      backend->mouse_inside = true;
      const int button = mouse_button_index(mouse->button());
      if (button >= 0 && event->type() != QEvent::MouseMove) {
        const bool down = event->type() != QEvent::MouseButtonRelease;
        backend->mouse_down[button] = down;
        if (down) backend->mouse_pressed[button] = true;  // survives a release in this frame
      }
      return io.WantCaptureMouse;
    }
    case QEvent::Wheel: {
      auto* wheel = static_cast<QWheelEvent*>(event);
      // One notch is 120 eighths of a degree; ImGui counts notches.
      io.MouseWheel += wheel->angleDelta().y() / 120.0f;
      io.MouseWheelH += wheel->angleDelta().x() / 120.0f;
      return io.WantCaptureMouse;
    }
    case QEvent::Leave:
      backend->mouse_inside = false;
      return false;
    case QEvent::KeyPress:
    case QEvent::KeyRelease: {
      auto* key = static_cast<QKeyEvent*>(event);
      const bool down = event->type() == QEvent::KeyPress;
      const int index = key_index(key->key());
      if (index >= 0) {
        backend->key_down[index] = down;
        if (down) backend->key_pressed[index] = true;
      }
      if (down && !key->text().isEmpty() && key->text().at(0).isPrint())
        io.AddInputCharactersUTF8(key->text().toUtf8().constData());
      return io.WantCaptureKeyboard;
    }
    case QEvent::FocusOut:
      // Releases seen by another widget never arrive here: forget what was held.
      for (bool& k : backend->key_down) k = false;
      for (bool& b : backend->mouse_down) b = false;
      return false;
    default:
      return false;
  }
}
