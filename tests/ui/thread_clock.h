#pragma once
// CPU time of the calling thread, for GUI tests that bound how long the GUI thread works on one
// event. Wall time would also count the time the thread waited for a core: ctest runs two tests
// at once on this two-core machine, and a loaded machine is not a slow view.
//
//   ThreadClock clock;            // on the GUI thread
//   QTest::keyClick(slider, Qt::Key_PageUp);
//   QVERIFY(clock.elapsedMs() < 50);

#include <ctime>

class ThreadClock {
public:
    ThreadClock() { restart(); }
    void restart() { start_ = nowMs(); }
    double elapsedMs() const { return nowMs() - start_; }

    static double nowMs()
    {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
    }

private:
    double start_ = 0;
};
