#include "project/jobs.h"

#include "eval/evaluator.h"

#include <QCoreApplication>
#include <QThread>
#include <QTimer>

#include <QElapsedTimer>

#include <exception>
#include <mutex>
#include <thread>

namespace joule::ui {

void JobControl::progress(double fraction, const QString& message)
{
    if (report_) report_(fraction, message);
}

struct Jobs::Run {
    QString title;
    JobControl control;
    std::function<void()> done;
    std::thread thread;
    enum class Outcome { Running, Succeeded, Failed, Cancelled } outcome = Outcome::Running;
    QString error;
    // Progress is coalesced: the worker overwrites the latest figure and posts only when none is pending.
    std::mutex mutex;
    double fraction = 0.0;
    QString message;
    bool pending = false;
    QElapsedTimer sinceShown;   // GUI thread only: progress is shown at most every kProgressMs
};

namespace {

constexpr int kProgressMs = 100;

} // namespace

Jobs::Jobs(QObject* parent) : QObject(parent) {}

Jobs::~Jobs()
{
    if (current_) {
        current_->control.cancel_ = true;
        if (current_->thread.joinable()) current_->thread.join();
    }
}

bool Jobs::start(const QString& title, std::function<void(JobControl&)> work, std::function<void()> done)
{
    if (running_) return false;
    if (current_ && current_->thread.joinable()) current_->thread.join();
    auto run = std::make_shared<Run>();
    run->title = title;
    run->done = std::move(done);
    // The worker posts to the GUI thread only when no update is pending; the GUI thread shows it at
    // most every kProgressMs (a Run outlives its pending updates: they hold it weakly).
    std::weak_ptr<Run> weak = run;
    run->control.report_ = [this, weak, r = run.get()](double f, const QString& m) {
        {
            const std::lock_guard lock(r->mutex);
            r->fraction = f;
            r->message = m;
            if (r->pending) return;
            r->pending = true;
        }
        QMetaObject::invokeMethod(this, [this, weak] {
            auto shown = weak.lock();
            if (!shown) return;
            const int wait = shown->sinceShown.isValid() ? std::max(0, kProgressMs - static_cast<int>(shown->sinceShown.elapsed())) : 0;
            QTimer::singleShot(wait, this, [this, weak] {
                auto r2 = weak.lock();
                if (!r2) return;
                double f2;
                QString m2;
                {
                    const std::lock_guard lock(r2->mutex);
                    r2->pending = false;
                    f2 = r2->fraction;
                    m2 = r2->message;
                }
                r2->sinceShown.start();
                if (current_ == r2 && running_) emit progressed(f2, m2);
            });
        }, Qt::QueuedConnection);
    };
    current_ = run;
    running_ = true;
    title_ = title;
    emit started(title);
    run->thread = std::thread([this, run, work = std::move(work)] {
        try {
            work(run->control);
            run->outcome = Run::Outcome::Succeeded;   // the work checks the flag; what it finished is kept
        } catch (const eval::Cancelled&) {
            run->outcome = Run::Outcome::Cancelled;
        } catch (const std::exception& e) {
            run->outcome = run->control.cancelled() ? Run::Outcome::Cancelled : Run::Outcome::Failed;
            run->error = QString::fromUtf8(e.what());
        } catch (...) {
            run->outcome = Run::Outcome::Failed;
            run->error = "unknown error";
        }
        QMetaObject::invokeMethod(this, [this, run] { end(run); }, Qt::QueuedConnection);
    });
    return true;
}

void Jobs::end(const std::shared_ptr<Run>& run)
{
    if (run->thread.joinable()) run->thread.join();
    running_ = false;
    switch (run->outcome) {
    case Run::Outcome::Succeeded:
        try {
            if (run->done) run->done();
            emit finished(run->title);
        } catch (const std::exception& e) {
            emit failed(run->title, QString::fromUtf8(e.what()));
        }
        break;
    case Run::Outcome::Failed: emit failed(run->title, run->error); break;
    case Run::Outcome::Cancelled:
    case Run::Outcome::Running: emit cancelled(run->title); break;
    }
    emit idle();
}

void Jobs::cancel()
{
    if (current_ && running_) current_->control.cancel_ = true;
}

void Jobs::waitForIdle()
{
    while (running_) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(2);
    }
    QCoreApplication::processEvents();
}

} // namespace joule::ui
