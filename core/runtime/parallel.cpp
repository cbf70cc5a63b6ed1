#include "runtime/kernel.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(task));
        }
        wake_.notify_one();
    }

    // Runs one queued task if there is one.
    bool runOne()
    {
        std::function<void()> task;
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty()) return false;
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
        return true;
    }

    ~WorkerPool()
    {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }

private:
    explicit WorkerPool(unsigned count)
    {
        for (unsigned i = 0; i < count; ++i)
            workers_.emplace_back([this] {
                for (;;) {
                    std::function<void()> task;
                    {
                        std::unique_lock lock(mutex_);
                        wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
                        if (stop_ && queue_.empty()) return;
                        task = std::move(queue_.front());
                        queue_.pop_front();
                    }
                    task();
                }
            });
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> workers_;
    bool stop_ = false;
};

// The parts of one parallelFor() call still running, and the first exception one of them threw.
struct PartGroup {
    std::mutex mutex;
    std::condition_variable done;
    int remaining = 0;
    std::exception_ptr error;

    void finish(std::exception_ptr e)
    {
        std::lock_guard lock(mutex);
        if (e && !error) error = e;
        if (--remaining == 0) done.notify_all();
    }
};

} // namespace

void parallelFor(int threads, int64_t n, int64_t minChunk, const std::function<void(int64_t, int64_t)>& fn)
{
    if (n <= 0) return;
    const int64_t maxParts = minChunk > 0 ? std::max<int64_t>(1, n / minChunk) : n;
    const int parts = static_cast<int>(std::min<int64_t>({std::max(threads, 1), maxParts, 64}));
    if (parts <= 1) {
        fn(0, n);
        return;
    }
    const int64_t chunk = (n + parts - 1) / parts;
    PartGroup group;
    WorkerPool& pool = WorkerPool::instance();
    for (int p = 1; p < parts; ++p) {
        const int64_t b = p * chunk, e = std::min(n, b + chunk);
        if (b >= e) continue;
        {
            std::lock_guard lock(group.mutex);
            ++group.remaining;
        }
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
    for (;;) {
        {
            std::unique_lock lock(group.mutex);
            if (group.remaining == 0) break;
        }
        if (pool.runOne()) continue;
        std::unique_lock lock(group.mutex);
        group.done.wait_for(lock, std::chrono::milliseconds(1), [&] { return group.remaining == 0; });
    }
    if (own) std::rethrow_exception(own);
    if (group.error) std::rethrow_exception(group.error);
}

} // namespace joule::rt
