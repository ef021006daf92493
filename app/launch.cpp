// fork + exec of /proc/self/exe, one child per rank on this machine.
#include "app/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace hg {
namespace {

int env_or(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0)
    throw std::invalid_argument(std::string(name) + "='" + text + "' is not a whole number");
  return static_cast<int>(value);
}

// A TCP port nobody listens on now, for a world that lives on this machine alone.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 29500;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = 29500;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  close(fd);
  return port;
}

std::vector<pid_t> g_children;
void forward_signal(int signal) {
  for (pid_t pid : g_children) kill(pid, signal);
}

}  // namespace

bool workers_requested(int gpus) { return gpus > 1 || env_or("NNODES", 1) > 1; }

int run_workers(int processes, char** argv) {
  const int nodes = env_or("NNODES", 1);
  const int node_rank = env_or("NODE_RANK", 0);
  if (nodes < 1 || node_rank >= nodes)
    throw std::invalid_argument("NODE_RANK=" + std::to_string(node_rank) +
                                " must be below NNODES=" + std::to_string(nodes));
  const char* addr_env = std::getenv("MASTER_ADDR");
  const std::string addr = addr_env && *addr_env ? addr_env : "127.0.0.1";
  if (nodes > 1 && !(addr_env && *addr_env))
    throw std::invalid_argument("NNODES=" + std::to_string(nodes) +
                                ": set MASTER_ADDR (and MASTER_PORT) to the address of the "
                                "machine with NODE_RANK=0 on every machine");
  const int port = env_or("MASTER_PORT", nodes > 1 ? 29500 : free_port());

  // Ctrl-C and a closed terminal (SIGHUP) reach every worker from the terminal; they save a
  // checkpoint and stop. SIGTERM or SIGHUP sent to this process alone is passed on to them.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, forward_signal);
  std::signal(SIGHUP, forward_signal);
  for (int i = 0; i < processes; ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      forward_signal(SIGTERM);
      throw std::runtime_error("could not start worker " + std::to_string(i) + " (fork failed)");
    }
    if (pid == 0) {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      std::signal(SIGHUP, SIG_DFL);
      setenv("RANK", std::to_string(node_rank * processes + i).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nodes * processes).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(i).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(processes).c_str(), 1);
      setenv("MASTER_ADDR", addr.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      execv("/proc/self/exe", argv);
      std::perror("hourglass: could not start a worker");
      _exit(127);
    }
    g_children.push_back(pid);
  }

  int result = 0;
  size_t running = g_children.size();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    --running;
    for (pid_t& child : g_children)
      if (child == pid) child = -1;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      for (pid_t child : g_children)  // the others would wait for it forever
        if (child > 0) kill(child, SIGTERM);
    }
  }
  g_children.clear();
  return result;
}

}  // namespace hg
