// Dear ImGui platform backend for a QOpenGLWidget (Dear ImGui 1.86, old input API), plus the
// OpenGL 3 renderer that libimgui.a ships. All Qt<->ImGui glue lives here, nowhere else in ui/.
// It is not a widget: ImGuiCanvas owns one ImGuiQtBackend and calls these functions.
// State lives in the struct, never in globals, so each canvas has its own ImGuiContext.
#pragma once

#include <chrono>
#include <string>

struct ImGuiContext;
class QEvent;
class QOpenGLWidget;

struct ImGuiQtBackend {
  static constexpr int kMouseButtons = 5;

  ImGuiContext* context = nullptr;  // this canvas's own context
  QOpenGLWidget* widget = nullptr;  // not owned
  bool renderer_ready = false;      // imgui_impl_opengl3 initialised on the current GL context
  float font_scale_dpr = 0.0f;      // device pixel ratio the font atlas was baked for
  std::chrono::steady_clock::time_point last_frame{};
  float mouse_x = -1.0f, mouse_y = -1.0f;  // logical pixels; negative while outside
  bool mouse_inside = false;
  bool mouse_down[kMouseButtons] = {};  // state as Qt reports it
  // Presses seen since the last frame. A press and release inside one frame would otherwise
  // never reach ImGui (1.86's old input API reads only the state at NewFrame): NewFrame shows the
  // button down for one frame, and the release lands in the next.
  bool mouse_pressed[kMouseButtons] = {};
  bool key_down[512] = {};
  bool key_pressed[512] = {};  // same held-back release, for quick key taps (xdotool key)
  std::string clipboard;       // keeps the text returned to ImGui alive
};

// Creates the ImGuiContext on the first call (keys, clipboard, style, fonts) and initialises
// the OpenGL 3 renderer on the widget's current GL context ("#version 330 core", falling back
// to "#version 130"). Call from initializeGL(); calling again after ShutdownRenderer re-creates
// only the renderer. Returns false when the renderer could not be initialised.
bool ImGui_ImplQt_Init(ImGuiQtBackend* backend, QOpenGLWidget* widget);
// Releases the GL objects of the renderer but keeps the ImGuiContext. Call with the old GL
// context current, from QOpenGLContext::aboutToBeDestroyed (docks floating / re-docking).
void ImGui_ImplQt_ShutdownRenderer(ImGuiQtBackend* backend);
// Releases the renderer (needs the GL context current) and destroys the ImGuiContext.
void ImGui_ImplQt_Shutdown(ImGuiQtBackend* backend);
// Makes the context current and fills display size, framebuffer scale (devicePixelRatioF),
// delta time, mouse and keyboard state; then call ImGui::NewFrame().
void ImGui_ImplQt_NewFrame(ImGuiQtBackend* backend);
// Call after ImGui::Render(): draws ImGui::GetDrawData() into the bound framebuffer and applies
// the mouse cursor ImGui asked for.
void ImGui_ImplQt_RenderDrawData(ImGuiQtBackend* backend);
// Feeds mouse move/press/release/double-click/wheel, keys, text and focus events to ImGui.
// Returns whether ImGui wants that input (io.WantCaptureMouse / WantCaptureKeyboard).
bool ImGui_ImplQt_ProcessEvent(ImGuiQtBackend* backend, QEvent* event);
