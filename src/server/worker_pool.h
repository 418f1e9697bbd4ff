// The worker threads behind a cpp-httplib listener: one thread per open connection, created on
// demand and retired when idle.
//
// cpp-httplib keeps a connection on its worker thread for as long as the connection lives
// (keep-alive included). A fixed pool of N threads therefore serves only N connections; the
// kube-apiserver may open hundreds at once in a burst, and connection N+1 would wait for an
// idle one to time out. WorkerPool grows up to a generous cap instead, with small stacks, and
// lets threads that stay idle for a while exit so that an idle server stays small.
//
// Owns: the job queue, the threads (detached pthreads with a fixed stack size) and their count.
// Never: runs a job on the caller's thread (unless no thread can be created at all), or drops
// a job: jobs beyond the cap wait in the queue.
// Thread-safety: all methods are safe from any thread. Shutdown() waits for every queued and
// running job; the object must outlive it.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace irsa::server {

class ConnectionTracker;

struct WorkerPoolOptions {
  std::size_t max_threads = 4096;                  // cap on concurrent connections served
  std::size_t warm_threads = 2;                    // kept even when idle
  std::chrono::milliseconds idle_timeout{30'000};  // an idle thread beyond warm_threads exits
  std::size_t stack_bytes = 256 * 1024;            // per thread
  ConnectionTracker* tracker = nullptr;            // optional; slot per thread
};

class WorkerPool {
 public:
  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Enqueue(std::function<void()> job);
  // Stops accepting jobs after the queue drains, waits until every thread has exited.
  void Shutdown();
  // Re-arms after Shutdown() (cpp-httplib creates a task queue per listen() call).
  void Restart();

  std::size_t threads() const;
  std::size_t busy_threads() const;
  std::size_t peak_threads() const;

  // A cpp-httplib TaskQueue that forwards to this pool (httplib owns and deletes the adapter).
  httplib::TaskQueue* NewTaskQueue();

 private:
  static void* ThreadMain(void* arg);
  void Run();
  bool SpawnLocked();

  const WorkerPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable exit_cv_;
  std::deque<std::function<void()>> jobs_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  std::size_t retiring_ = 0;  // threads that decided to retire and are on their way out
  std::size_t peak_ = 0;
  bool stopping_ = false;
};

}  // namespace irsa::server
