#pragma once
// The project as one self-contained HTML file (plots embedded as PNG images, no other files): every
// stored candidate in a table, the accuracy–energy trade-off with its Pareto front, and for each
// candidate on the front its layers against its parent and its answers per input.
//
//   ReportOptions o{.target = "stm32l4r5"};
//   QString file = writeReport(project, "out", o);       // out/index.html, written atomically
//
// Plots are drawn by the studio's own views, offscreen, so the report shows what the window shows.
// Needs a QApplication (the views are widgets); `joule report` makes one on the offscreen platform.
// Throws ProjectError naming the folder or file when it cannot be written, eval::Cancelled when
// cancelled.

#include "project/project.h"

#include <QString>

#include <atomic>
#include <functional>

namespace joule::ui {

struct ReportOptions {
    QString target;                    // the board per-layer figures are estimated on; empty: each run's own
    int maxCandidates = 12;            // candidates with a section of their own (the front first)
    std::function<void(double, const QString&)> progress{};
    const std::atomic<bool>* cancel = nullptr;
};

QString writeReport(const Project& project, const QString& dir, const ReportOptions& options = {});

} // namespace joule::ui
