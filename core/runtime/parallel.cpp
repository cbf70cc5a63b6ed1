#include "runtime/kernel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if JOULE_PARALLEL_OPENMP
#include <omp.h>
#endif

namespace joule::rt {

const Tensor& PrepareContext::requireConstantInput(size_t i)
{
    const Tensor* t = constantInput(i);
    if (!t)
        throw UnsupportedError("input " + std::to_string(i) + " ('" + node().inputs.at(i) +
                               "') must be known before running (a constant or a graph input); it is computed at run time");
    return *t;
}

namespace {

// How many parts parallelFor cuts [0, n) into: one per thread, none smaller than minChunk, at most 64.
int partCount(int threads, int64_t n, int64_t minChunk)
{
    const int64_t maxParts = minChunk > 0 ? std::max<int64_t>(1, n / minChunk) : n;
    return static_cast<int>(std::min<int64_t>({std::max(threads, 1), maxParts, 64}));
}

// Runs fn over `parts` equal chunks of [0, n) (parts >= 2) and waits for all of them; rethrows the
// first exception a part threw. Defined below for OpenMP or for the engine's own worker pool.
void runParts(int parts, int64_t n, const std::function<void(int64_t, int64_t)>& fn);

} // namespace

#if JOULE_PARALLEL_OPENMP

// In a build with oneDNN, whose parallel loops run on OpenMP, the engine's own loops run on the same
// OpenMP threads: two pools of busy-waiting workers on the same cores slowed two-thread runs below
// one-thread runs. Part p of `parts` goes to team member p modulo the team's size (a nested call
// gets a team of one and runs every part itself).
namespace {
void runParts(int parts, int64_t n, const std::function<void(int64_t, int64_t)>& fn)
{
    const int64_t chunk = (n + parts - 1) / parts;
    std::mutex mutex;
    std::exception_ptr error;
#pragma omp parallel num_threads(parts)
    {
        for (int p = omp_get_thread_num(); p < parts; p += omp_get_num_threads()) {
            const int64_t b = p * chunk, e = std::min(n, b + chunk);
            if (b >= e) continue;
            try {
                fn(b, e);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!error) error = std::current_exception();
            }
        }
    }
    if (error) std::rethrow_exception(error);
}
} // namespace

#else

namespace {

// How long an idle worker, or a caller waiting for its parts, polls before it blocks. Waking a thread
// blocked on a condition variable takes tens of microseconds (about 25 us on the 2-core VMs here), as
// long as a whole small convolution; a worker that has just finished a part is usually given the next
// one within this window, so it never sleeps while a model runs. Spinning costs at most this much CPU
// after the last part of a burst.
constexpr auto kSpin = std::chrono::microseconds(500);

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Worker threads shared by every session of the process, started on first use and kept until exit.
// A caller of parallelFor() runs one part itself and, while it waits for the others, runs queued
// parts too (its own or another caller's), so nested or concurrent calls cannot deadlock and no
// part waits for an idle thread that does not exist.
class WorkerPool {
public:
    static WorkerPool& instance()
    {
        static WorkerPool pool(std::max(1u, std::thread::hardware_concurrency()) - 1);
        return pool;
    }

    void submit(std::function<void()> task)
    {
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(task));
            queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
            wake = sleeping_ > 0;
        }
        if (wake) wake_.notify_one();
    }

    // Runs one queued task if there is one.
    bool runOne()
    {
        if (queued_.load(std::memory_order_acquire) == 0) return false;
        std::function<void()> task;
        if (!pop(&task)) return false;
        task();
        return true;
    }

    ~WorkerPool()
    {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
            stop_flag_.store(true, std::memory_order_relaxed);
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }

private:
    explicit WorkerPool(unsigned count)
    {
        for (unsigned i = 0; i < count; ++i) workers_.emplace_back([this] { work(); });
    }

    bool pop(std::function<void()>* task)
    {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) return false;
        *task = std::move(queue_.front());
        queue_.pop_front();
        queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
        return true;
    }

    void work()
    {
        for (;;) {
            std::function<void()> task;
            if (pop(&task)) {
                task();
                continue;
            }
            // Poll for a while before sleeping.
            const auto until = std::chrono::steady_clock::now() + kSpin;
            bool found = false;
            while (!found && std::chrono::steady_clock::now() < until) {
                for (int i = 0; i < 64 && !found; ++i) {
                    cpuRelax();
                    found = queued_.load(std::memory_order_acquire) > 0 || stop_flag_.load(std::memory_order_relaxed);
                }
            }
            if (found && !stop_flag_.load(std::memory_order_relaxed)) continue;
            std::unique_lock lock(mutex_);
            ++sleeping_;
            wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
            --sleeping_;
            if (stop_ && queue_.empty()) return;
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    std::atomic<int> queued_{0};          // queue_.size(), readable without the lock
    std::atomic<bool> stop_flag_{false};
    int sleeping_ = 0;                    // workers blocked on wake_ (guarded by mutex_)
    std::vector<std::thread> workers_;
    bool stop_ = false;
};

// The parts of one parallelFor() call still running, and the first exception one of them threw.
struct PartGroup {
    std::mutex mutex;
    std::condition_variable done;
    std::atomic<int> remaining{0};
    bool waiting = false;   // the caller is blocked on `done` (guarded by mutex)
    std::exception_ptr error;

    // Everything under the lock, so that a caller that saw remaining == 0 and then took the lock once
    // may destroy the group.
    void finish(std::exception_ptr e)
    {
        std::lock_guard lock(mutex);
        if (e && !error) error = e;
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 && waiting) done.notify_all();
    }
};

void runParts(int parts, int64_t n, const std::function<void(int64_t, int64_t)>& fn)
{
    const int64_t chunk = (n + parts - 1) / parts;
    PartGroup group;
    WorkerPool& pool = WorkerPool::instance();
    int submitted = 0;
    for (int p = 1; p < parts; ++p)
        if (p * chunk < n) ++submitted;
    group.remaining.store(submitted, std::memory_order_relaxed);
    for (int p = 1; p < parts; ++p) {
        const int64_t b = p * chunk, e = std::min(n, b + chunk);
        if (b >= e) continue;
        pool.submit([&fn, &group, b, e] {
            std::exception_ptr error;
            try {
                fn(b, e);
            } catch (...) {
                error = std::current_exception();
            }
            group.finish(error);
        });
    }
    std::exception_ptr own;
    try {
        fn(0, std::min(n, chunk));
    } catch (...) {
        own = std::current_exception();
    }
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (group.remaining.load(std::memory_order_acquire) > 0) {
        if (pool.runOne()) continue;
        if (std::chrono::steady_clock::now() < until) {
            for (int i = 0; i < 16; ++i) cpuRelax();
            continue;
        }
        std::unique_lock lock(group.mutex);
        group.waiting = true;
        group.done.wait_for(lock, std::chrono::milliseconds(1),
                            [&] { return group.remaining.load(std::memory_order_acquire) == 0; });
        group.waiting = false;
    }
    { std::lock_guard lock(group.mutex); }   // the last finish() has left the group
    if (own) std::rethrow_exception(own);
    if (group.error) std::rethrow_exception(group.error);
}

} // namespace

#endif // JOULE_PARALLEL_OPENMP

void parallelFor(int threads, int64_t n, int64_t minChunk, const std::function<void(int64_t, int64_t)>& fn)
{
    if (n <= 0) return;
    const int parts = partCount(threads, n, minChunk);
    if (parts <= 1) fn(0, n);
    else runParts(parts, n, fn);
}

} // namespace joule::rt
