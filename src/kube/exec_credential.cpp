#include "kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigaction is POSIX, <csignal> need not declare it
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "irsa/document.h"
#include "irsa/text.h"
#include "kube/rfc3339.h"

extern char** environ;

namespace irsa::kube {
namespace {

using nlohmann::json;

Result<std::string> StringField(const json& object, std::string_view key, std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return Status::Error(std::string(where) + std::string(key) + ": must be a string");
  return it->get<std::string>();
}

// The command as people read it in messages: "aws eks get-token".
std::string CommandLine(const ExecPluginConfig& config) {
  std::string line = config.command;
  for (const auto& arg : config.args) line += " " + arg;
  return line;
}

std::string Prefix(const ExecPluginConfig& config) {
  return config.source + ": exec plugin " + Quote(CommandLine(config)) + ": ";
}

// The last kExecStderrTailChars characters of `text` on one line.
std::string Tail(std::string_view raw) {
  std::string text(Trim(raw));
  if (text.size() > kExecStderrTailChars)
    text = "..." + text.substr(text.size() - kExecStderrTailChars);
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Reads the child's stdout and stderr until both close or the deadline passes. False on timeout.
bool Drain(int out_fd, int err_fd, std::string& out, std::string& err, bool& out_too_large) {
  const auto deadline = std::chrono::steady_clock::now() + kExecPluginTimeout;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open = 2;
  char buffer[8192];
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;  // closed; poll ignores negative descriptors
        --open;
        continue;
      }
      std::string& sink = i == 0 ? out : err;
      const auto count = static_cast<std::size_t>(n);
      if (i == 0 && sink.size() + count > kMaxExecStdoutBytes) {
        out_too_large = true;
        continue;  // keep draining so the child is not blocked on a full pipe
      }
      sink.append(buffer, count);
      // stderr: only its tail is ever quoted.
      if (i == 1 && sink.size() > 4 * kExecStderrTailChars)
        sink.erase(0, sink.size() - 2 * kExecStderrTailChars);
    }
  }
  return true;
}

}  // namespace

Result<ExecPluginConfig> ParseExecPluginConfig(const json& exec, std::string_view where,
                                               std::string_view base_dir) {
  const std::string at = std::string(where) + "exec: ";
  if (!exec.is_object()) return Status::Error(at + "must be a mapping");
  ExecPluginConfig config;
  IRSA_ASSIGN_OR_RETURN(config.api_version, StringField(exec, "apiVersion", at));
  if (config.api_version != kExecCredentialV1 && config.api_version != kExecCredentialV1beta1) {
    return Status::Error(at + "apiVersion: " + Quote(config.api_version) +
                         " is not supported (use " + std::string(kExecCredentialV1) + " or " +
                         std::string(kExecCredentialV1beta1) + ")");
  }
  IRSA_ASSIGN_OR_RETURN(config.command, StringField(exec, "command", at));
  if (config.command.empty()) return Status::Error(at + "command: required");
  // As kubectl: a command with a path separator is relative to the kubeconfig file; a bare name
  // is looked up in PATH.
  if (config.command.find('/') != std::string::npos && config.command.front() != '/' &&
      !base_dir.empty()) {
    config.command = (std::filesystem::path(base_dir) / config.command).lexically_normal().string();
  }
  if (const auto args = exec.find("args"); args != exec.end() && !args->is_null()) {
    if (!args->is_array()) return Status::Error(at + "args: must be a list of strings");
    for (const auto& arg : *args) {
      if (!arg.is_string()) return Status::Error(at + "args: must be a list of strings");
      config.args.push_back(arg.get<std::string>());
    }
  }
  if (const auto env = exec.find("env"); env != exec.end() && !env->is_null()) {
    if (!env->is_array()) return Status::Error(at + "env: must be a list of {name, value}");
    for (const auto& entry : *env) {
      if (!entry.is_object()) return Status::Error(at + "env: must be a list of {name, value}");
      std::string name, value;
      IRSA_ASSIGN_OR_RETURN(name, StringField(entry, "name", at + "env: "));
      IRSA_ASSIGN_OR_RETURN(value, StringField(entry, "value", at + "env: "));
      if (name.empty() || name.find('=') != std::string::npos)
        return Status::Error(at + "env: name: " + Quote(name) + " is not a variable name");
      config.env.emplace_back(std::move(name), std::move(value));
    }
  }
  IRSA_ASSIGN_OR_RETURN(config.install_hint, StringField(exec, "installHint", at));
  IRSA_ASSIGN_OR_RETURN(config.interactive_mode, StringField(exec, "interactiveMode", at));
  if (config.interactive_mode.empty()) {
    // client-go requires the field in v1 and defaults it to IfAvailable in v1beta1.
    if (config.api_version == kExecCredentialV1)
      return Status::Error(at + "interactiveMode: required for " + config.api_version +
                           " (Never or IfAvailable)");
    config.interactive_mode = kInteractiveIfAvailable;
  }
  if (config.interactive_mode == kInteractiveAlways) {
    return Status::Error(at +
                         "interactiveMode: Always needs a terminal, and irsa-webhook never "
                         "gives the plugin one; use a plugin that can run with Never or "
                         "IfAvailable (e.g. log in first, then let it use its cached "
                         "session)");
  }
  if (config.interactive_mode != kInteractiveNever &&
      config.interactive_mode != kInteractiveIfAvailable) {
    return Status::Error(at + "interactiveMode: " + Quote(config.interactive_mode) +
                         " is not one of Never, IfAvailable, Always");
  }
  if (const auto p = exec.find("provideClusterInfo"); p != exec.end() && !p->is_null()) {
    if (!p->is_boolean()) return Status::Error(at + "provideClusterInfo: must be true or false");
    if (p->get<bool>()) config.cluster_info = json::object();  // filled in by the caller
  }
  return config;
}

std::string ExecInfo(const ExecPluginConfig& config) {
  json spec = {{"interactive", false}};
  if (config.cluster_info.is_object()) spec["cluster"] = config.cluster_info;
  return json{{"apiVersion", config.api_version}, {"kind", "ExecCredential"}, {"spec", spec}}
      .dump();
}

Result<ExecCredential> ParseExecCredential(std::string_view output,
                                           const ExecPluginConfig& config) {
  const std::string prefix = Prefix(config);
  auto parsed = ParseJson(output);
  if (!parsed.ok() || !parsed->is_object()) {
    std::string start(output.substr(0, 80));
    for (char& c : start) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Status::Error(prefix + "did not print an ExecCredential JSON object (" +
                         (parsed.ok() ? std::string("not an object") : parsed.error()) +
                         "; output starts with " + Quote(start) + ")");
  }
  const json& cred = *parsed;
  std::string api_version, kind;
  IRSA_ASSIGN_OR_RETURN(api_version, StringField(cred, "apiVersion", prefix));
  IRSA_ASSIGN_OR_RETURN(kind, StringField(cred, "kind", prefix));
  if (kind != "ExecCredential")
    return Status::Error(prefix + "printed kind " + Quote(kind) + ", expected ExecCredential");
  if (api_version != config.api_version) {
    return Status::Error(prefix + "printed apiVersion " + Quote(api_version) +
                         " but the kubeconfig asks for " + config.api_version +
                         " (set exec.apiVersion to what the plugin speaks)");
  }
  const auto status = cred.find("status");
  if (status == cred.end() || !status->is_object())
    return Status::Error(prefix + "printed no status (expected status.token)");
  ExecCredential result;
  IRSA_ASSIGN_OR_RETURN(result.token, StringField(*status, "token", prefix + "status."));
  if (result.token.empty()) {
    if (status->contains("clientCertificateData")) {
      return Status::Error(prefix +
                           "returned a client certificate instead of a token; irsa-webhook takes "
                           "only tokens from exec plugins (put the certificate in the kubeconfig "
                           "as client-certificate-data and client-key-data)");
    }
    return Status::Error(prefix + "printed no status.token");
  }
  std::string expiry;
  IRSA_ASSIGN_OR_RETURN(expiry, StringField(*status, "expirationTimestamp", prefix + "status."));
  if (!expiry.empty()) {
    result.expires_at = ParseRfc3339(expiry);
    if (!result.expires_at) {
      return Status::Error(prefix + "status.expirationTimestamp: " + Quote(expiry) +
                           " is not an RFC 3339 time");
    }
  }
  return result;
}

Result<ExecCredential> RunExecPlugin(const ExecPluginConfig& config) {
  const std::string prefix = Prefix(config);
  // The environment: ours, minus what the plugin config and the protocol set, plus those.
  std::set<std::string> replaced{std::string(kExecInfoEnv)};
  for (const auto& [name, value] : config.env) replaced.insert(name);
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (replaced.count(std::string(entry.substr(0, entry.find('=')))) != 0) continue;
    env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : config.env) env_strings.push_back(name + "=" + value);
  env_strings.push_back(std::string(kExecInfoEnv) + "=" + ExecInfo(config));
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{config.command};
  argv_strings.insert(argv_strings.end(), config.args.begin(), config.args.end());
  std::vector<char*> argv;
  argv.reserve(argv_strings.size() + 1);
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const std::string error = std::strerror(errno);
    CloseFd(out_pipe[0]);
    CloseFd(out_pipe[1]);
    return Status::Error(prefix + "cannot create a pipe: " + error);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  const bool search_path = config.command.find('/') == std::string::npos;
  const int spawned =
      search_path
          ? posix_spawnp(&pid, config.command.c_str(), &actions, nullptr, argv.data(), envp.data())
          : posix_spawn(&pid, config.command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (spawned != 0) {
    CloseFd(out_pipe[0]);
    CloseFd(err_pipe[0]);
    std::string message = prefix;
    if (spawned == ENOENT) {
      message += search_path ? "command " + Quote(config.command) + " not found in PATH"
                             : config.command + ": no such file";
      message += config.install_hint.empty() ? std::string(" (is it installed?)")
                                             : " (" + Tail(config.install_hint) + ")";
    } else if (spawned == EACCES) {
      message += config.command + ": permission denied (is it executable?)";
    } else {
      message += "cannot run: " + std::string(std::strerror(spawned));
    }
    return Status::Error(message);
  }
  std::string out, err;
  bool out_too_large = false;
  const bool finished = Drain(out_pipe[0], err_pipe[0], out, err, out_too_large);
  CloseFd(out_pipe[0]);
  CloseFd(err_pipe[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  const std::string stderr_note = err.empty() ? "" : ": " + Tail(err);
  if (!finished) {
    return Status::Error(prefix + "did not finish within " +
                         std::to_string(kExecPluginTimeout.count()) + " s (killed)" + stderr_note);
  }
  if (WIFSIGNALED(wait_status)) {
    return Status::Error(prefix + "killed by signal " + std::to_string(WTERMSIG(wait_status)) +
                         stderr_note);
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0) {
    return Status::Error(prefix + "exited with status " + std::to_string(WEXITSTATUS(wait_status)) +
                         (err.empty() ? " (no output on stderr)" : stderr_note));
  }
  if (out_too_large) {
    return Status::Error(prefix + "printed more than " + std::to_string(kMaxExecStdoutBytes) +
                         " bytes");
  }
  return ParseExecCredential(out, config);
}

}  // namespace irsa::kube
