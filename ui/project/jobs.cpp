#include "project/jobs.h"

#include "eval/evaluator.h"

#include <QCoreApplication>
#include <QThread>

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
};

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
    run->control.report_ = [this, r = run.get()](double f, const QString& m) {
        const std::lock_guard lock(r->mutex);
        r->fraction = f;
        r->message = m;
        if (r->pending) return;
        r->pending = true;
        QMetaObject::invokeMethod(this, [this, r] {
            double f2;
            QString m2;
            {
                const std::lock_guard lock2(r->mutex);
                r->pending = false;
                f2 = r->fraction;
                m2 = r->message;
            }
            if (current_.get() == r && running_) emit progressed(f2, m2);
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
