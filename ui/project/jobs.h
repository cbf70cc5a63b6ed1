#pragma once
// Long work off the GUI thread: one job at a time per Jobs, with progress, cancel and a result
// delivered back on the GUI thread.
//
//   auto result = std::make_shared<Project>();
//   jobs->start("Opening m.onnx", [=](JobControl& job) {
//       *result = Project::open("m.onnx", job.cancelFlag());       // runs on a worker thread
//   }, [=] { window->setProject(std::move(*result)); });             // on the GUI thread, if it succeeded
//   jobs->cancel();    // sets the flag; the job ends as soon as its work checks it
//
// A job that throws ends `failed` with the exception's message (shown by the window in a dialog);
// one that throws eval::Cancelled (or anything after cancel() was called) ends `cancelled` and its
// completion is not run, so nothing it made is kept. Work that returns normally has succeeded even
// when cancel() came late: it checks the flag itself before anything it cannot take back.

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>

namespace joule::ui {

class JobControl {
public:
    const std::atomic<bool>* cancelFlag() const { return &cancel_; }
    bool cancelled() const { return cancel_.load(); }
    // Thread-safe; delivered to the GUI thread, at most one pending update at a time.
    void progress(double fraction, const QString& message);

private:
    friend class Jobs;
    std::atomic<bool> cancel_{false};
    std::function<void(double, const QString&)> report_;
};

class Jobs : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Running };
    explicit Jobs(QObject* parent = nullptr);
    ~Jobs() override;   // cancels and waits for a running job

    // Returns false (and starts nothing) while another job runs.
    bool start(const QString& title, std::function<void(JobControl&)> work, std::function<void()> done = {});
    void cancel();
    bool running() const { return running_; }
    const QString& title() const { return title_; }
    // Blocks until the running job has ended and its signals were delivered (tests, --screenshot).
    void waitForIdle();

signals:
    void started(const QString& title);
    void progressed(double fraction, const QString& message);
    void finished(const QString& title);                         // succeeded; `done` has run
    void failed(const QString& title, const QString& message);
    void cancelled(const QString& title);
    void idle();                                                 // after any of the three above

private:
    struct Run;
    void end(const std::shared_ptr<Run>& run);
    std::shared_ptr<Run> current_;
    bool running_ = false;
    QString title_;
};

} // namespace joule::ui
