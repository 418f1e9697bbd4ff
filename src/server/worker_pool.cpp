#include "worker_pool.h"

#include <pthread.h>

#include <algorithm>

#include "connection_tracker.h"

namespace irsa::server {
namespace {

class TaskQueueAdapter final : public httplib::TaskQueue {
 public:
  explicit TaskQueueAdapter(WorkerPool& pool) : pool_(pool) {}
  void enqueue(std::function<void()> fn) override { pool_.Enqueue(std::move(fn)); }
  void shutdown() override { pool_.Shutdown(); }

 private:
  WorkerPool& pool_;
};

}  // namespace

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(options) {}

WorkerPool::~WorkerPool() { Shutdown(); }

httplib::TaskQueue* WorkerPool::NewTaskQueue() {
  Restart();
  return new TaskQueueAdapter(*this);
}

bool WorkerPool::SpawnLocked() {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, std::max<std::size_t>(options_.stack_bytes, PTHREAD_STACK_MIN));
  pthread_t thread;
  const int rc = pthread_create(&thread, &attr, &WorkerPool::ThreadMain, this);
  pthread_attr_destroy(&attr);
  if (rc != 0) return false;
  ++threads_;
  peak_ = std::max(peak_, threads_);
  return true;
}

void WorkerPool::Enqueue(std::function<void()> job) {
  std::unique_lock<std::mutex> lock(mutex_);
  jobs_.push_back(std::move(job));
  // Idle threads that have not yet picked up a job are enough: wake one. Otherwise grow.
  if (idle_ >= jobs_.size()) {
    work_cv_.notify_one();
    return;
  }
  if (threads_ < options_.max_threads && SpawnLocked()) return;
  if (threads_ == 0) {
    // No thread exists and none can be created: serve inline rather than never.
    auto inline_job = std::move(jobs_.back());
    jobs_.pop_back();
    lock.unlock();
    inline_job();
    return;
  }
  work_cv_.notify_one();  // at the cap: the job waits for the next free thread
}

void* WorkerPool::ThreadMain(void* arg) {
  static_cast<WorkerPool*>(arg)->Run();
  return nullptr;
}

void WorkerPool::Run() {
  if (options_.tracker != nullptr) options_.tracker->AttachThread();
  std::unique_lock<std::mutex> lock(mutex_);
  bool retiring = false;
  for (;;) {
    if (jobs_.empty()) {
      if (stopping_) break;
      ++idle_;
      const bool woken = work_cv_.wait_for(lock, options_.idle_timeout,
                                           [this] { return !jobs_.empty() || stopping_; });
      --idle_;
      // Retire, unless that would leave fewer than warm_threads: threads that already decided to
      // retire (but have not finished) no longer count, or several idle threads timing out
      // together would all leave.
      if (!woken && threads_ - retiring_ > options_.warm_threads) {
        ++retiring_;
        retiring = true;
        break;
      }
      continue;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    ConnectionTracker::EndTask();
    job = nullptr;  // release captures before taking the lock
    lock.lock();
  }
  lock.unlock();
  if (options_.tracker != nullptr) options_.tracker->DetachThread();
  lock.lock();
  --threads_;
  if (retiring) --retiring_;
  if (threads_ == 0) exit_cv_.notify_all();
  // After the unlock below this thread never touches the pool again.
}

void WorkerPool::Shutdown() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopping_ = true;
  work_cv_.notify_all();
  exit_cv_.wait(lock, [this] { return threads_ == 0; });
}

void WorkerPool::Restart() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = false;
}

std::size_t WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_;
}

std::size_t WorkerPool::busy_threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_ - idle_;
}

std::size_t WorkerPool::peak_threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

}  // namespace irsa::server
