#include "plots/plot_export.h"

#include "project/project.h"

#include <qcustomplot.h>

#include <QFile>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QFileInfo>
#include <QPainter>
#include <QSaveFile>
#include <QSvgGenerator>

namespace joule::ui {

void savePlot(QCustomPlot* plot, const QString& path, int width, int height)
{
    if (width <= 0 || height <= 0) {
        width = plot->width() > 50 ? plot->width() : 640;
        height = plot->height() > 50 ? plot->height() : 400;
    }
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == "png") {
        ok = plot->savePng(path, width, height, 2.0);
    } else if (suffix == "pdf") {
        ok = plot->savePdf(path, width, height, QCP::epNoCosmetic, "Joule Studio", plot->windowTitle());
    } else if (suffix == "svg") {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(QSize(width, height));
        svg.setViewBox(QRect(0, 0, width, height));
        svg.setTitle(plot->windowTitle());
        svg.setDescription("Joule Studio");
        QCPPainter painter;
        ok = painter.begin(&svg);
        if (ok) {
            plot->toPainter(&painter, width, height);
            ok = painter.end();
        }
    } else {
        throw ProjectError(path + ": unknown plot format '" + suffix + "' (use .png, .svg or .pdf)");
    }
    if (!ok || !QFileInfo(path).isFile() || QFileInfo(path).size() == 0) throw ProjectError(path + ": cannot write the plot");
}

QStringList plotFileFilters() { return {"PNG image (*.png)", "SVG drawing (*.svg)", "PDF document (*.pdf)"}; }

void replotIfSized(QCustomPlot* plot)
{
    if (plot->width() > 1 && plot->height() > 1) plot->replot();
}

void addPlotExportMenu(QCustomPlot* plot)
{
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot](const QPoint& at) {
        QMenu menu(plot);
        menu.addAction(QObject::tr("Save plot as PNG, SVG or PDF…"), plot, [plot] {
            QString filter;
            QString path = QFileDialog::getSaveFileName(plot, QObject::tr("Save plot"), QString(), plotFileFilters().join(";;"), &filter);
            if (path.isEmpty()) return;
            if (QFileInfo(path).suffix().isEmpty()) path += filter.contains("svg") ? ".svg" : filter.contains("pdf") ? ".pdf" : ".png";
            try {
                savePlot(plot, path);
            } catch (const std::exception& e) {
                QMessageBox::warning(plot, QObject::tr("Save plot"), QString::fromUtf8(e.what()));
            }
        });
        menu.exec(plot->mapToGlobal(at));
    });
}

QString csvField(const QString& value)
{
    if (!value.contains(',') && !value.contains('"') && !value.contains('\n') && !value.contains('\r')) return value;
    QString quoted = value;
    quoted.replace("\"", "\"\"");
    return "\"" + quoted + "\"";
}

void writeCsv(const QString& path, const QStringList& header, const std::vector<QStringList>& rows)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) throw ProjectError(path + ": cannot write: " + f.errorString());
    auto line = [](const QStringList& fields) {
        QStringList out;
        for (const QString& v : fields) out << csvField(v);
        return (out.join(',') + "\r\n").toUtf8();
    };
    f.write(line(header));
    for (const QStringList& r : rows) f.write(line(r));
    if (!f.commit()) throw ProjectError(path + ": cannot write: " + f.errorString());
}

std::vector<QStringList> readCsv(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) throw ProjectError(path + ": cannot read: " + f.errorString());
    const QString text = QString::fromUtf8(f.readAll());
    std::vector<QStringList> rows;
    QStringList row;
    QString field;
    bool quoted = false, any = false;
    int line = 1, quoteLine = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') { field += '"'; ++i; }
            else if (c == '"') quoted = false;
            else { field += c; if (c == '\n') ++line; }
            continue;
        }
        if (c == '"') { quoted = true; quoteLine = line; any = true; }
        else if (c == ',') { row << field; field.clear(); any = true; }
        else if (c == '\r') continue;
        else if (c == '\n') { row << field; rows.push_back(row); row.clear(); field.clear(); any = false; ++line; }
        else { field += c; any = true; }
    }
    if (quoted) throw ProjectError(path + ": line " + QString::number(quoteLine) + ": a quoted field does not end");
    if (any) { row << field; rows.push_back(row); }
    return rows;
}

} // namespace joule::ui
