#pragma once
// Saving what a view shows: a plot as PNG, SVG or PDF (by the file's extension), a table as CSV.
//
//   savePlot(plot, "front.svg");                 // or .png / .pdf; throws ProjectError naming the file
//   writeCsv("points.csv", {"id", "accuracy"}, {{"1/c1", "0.9265"}});   // atomic (QSaveFile)
//   std::vector<QStringList> rows = readCsv("points.csv");               // header first
//
// SVG goes through QSvgGenerator, PDF through QCustomPlot's own vector output, PNG at twice the
// widget's pixels. CSV follows RFC 4180: fields with a comma, quote or line break are quoted.

#include <QString>
#include <QStringList>

#include <vector>

class QCustomPlot;

namespace joule::ui {

// The size defaults to the plot's size on screen (640 x 400 when it has none yet).
void savePlot(QCustomPlot* plot, const QString& path, int width = 0, int height = 0);
QStringList plotFileFilters();
// Gives `plot` a right-click menu "Save plot as PNG, SVG or PDF…" (a file dialog, then savePlot;
// an error goes to a message box naming the file).
void addPlotExportMenu(QCustomPlot* plot);
// Replots now when the plot has a size on screen; one that has none yet (a hidden tab) replots when
// it is first laid out (QCustomPlot does on resize), and savePlot draws it at the size asked.
void replotIfSized(QCustomPlot* plot);   // for QFileDialog: "PNG image (*.png)", "SVG drawing (*.svg)", "PDF document (*.pdf)"

void writeCsv(const QString& path, const QStringList& header, const std::vector<QStringList>& rows);
// Every row of the file, the header included. Throws ProjectError naming the file and line when a
// quoted field does not end.
std::vector<QStringList> readCsv(const QString& path);
QString csvField(const QString& value);

} // namespace joule::ui
