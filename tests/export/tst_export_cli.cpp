// joule export as a user meets it: the folder it writes is complete or absent, an occupied folder
// is never touched without --force, a candidate with an op the C export lacks is refused naming the
// node and the op, and a stored candidate exports to the same files as the recipe's.
#include "cli/cli_test_util.h"

#include "export/bundle.h"
#include "onnx/onnx_io.h"
#include "runtime/qdq_lower.h"
#include "store/store.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace {

QString recipe() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/recipes/fmnist_resnet8_int8.json"; }

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeText(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

// Entries of `dir` other than the expected ones: left-over temporary folders would show here.
QStringList entries(const QString& dir) { return QDir(dir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden, QDir::Name); }

} // namespace

class ExportCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void occupiedFolderIsLeftAlone();
    void forceReplacesTheFolder();
    void opWithoutKernelIsRefused();
    void storeAndRecipeExportTheSame();
    void onnxFormat();
    void badArguments_data();
    void badArguments();
    void failedWriteLeavesNothing();

private:
    QTemporaryDir tmp_;
    QString store_;
    QString baselineId_, int8Id_;
};

void ExportCli::initTestCase()
{
    QVERIFY(tmp_.isValid());
    store_ = tmp_.filePath("joule.db");
    const CliResult r = runJoule({"optimize", recipe(), "--store", store_}, 300000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const joule::store::Store db(store_);
    for (const auto& c : db.candidates()) {
        if (c.cid == "baseline") baselineId_ = QString::number(c.id);
        if (c.cid == "c1") int8Id_ = QString::number(c.id);
    }
    QVERIFY(!baselineId_.isEmpty() && !int8Id_.isEmpty());
}

void ExportCli::occupiedFolderIsLeftAlone()
{
    const QString out = tmp_.filePath("occupied");
    QVERIFY(QDir().mkpath(out));
    QVERIFY(writeText(out + "/notes.txt", "the user's notes\n"));
    const CliResult r = runJoule({"export", "--store", store_, "--candidate", int8Id_, "--format", "c", "--out", out});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(out) && r.err.contains("--force"), qPrintable(r.err));
    QCOMPARE(r.errLines().size(), 1);
    QCOMPARE(entries(out), QStringList{"notes.txt"});
    QCOMPARE(readAll(out + "/notes.txt"), QByteArray("the user's notes\n"));
    // Nothing written beside it either.
    QVERIFY2(!entries(tmp_.path()).join(",").contains("joule-"), qPrintable(entries(tmp_.path()).join(",")));

    // An empty folder is fine (named with a trailing slash, as shells complete it).
    const QString empty = tmp_.filePath("empty");
    QVERIFY(QDir().mkpath(empty));
    const CliResult ok = runJoule({"export", "--store", store_, "--candidate", int8Id_, "--format", "c", "--out", empty + "/"});
    QVERIFY2(ok.exitCode == 0, qPrintable(ok.err));
    QCOMPARE(entries(empty), (QStringList{"model.c", "model.h"}));
}

void ExportCli::forceReplacesTheFolder()
{
    const QString out = tmp_.filePath("forced");
    QVERIFY(QDir().mkpath(out + "/sub"));
    QVERIFY(writeText(out + "/sub/old.txt", "old\n"));
    const CliResult r = runJoule({"export", "--store", store_, "--candidate", int8Id_, "--format", "c", "--out", out, "--force", "--name", "fmnist"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QCOMPARE(entries(out), (QStringList{"fmnist.c", "fmnist.h"}));
    QVERIFY(readAll(out + "/fmnist.h").contains("int fmnist_run(const int8_t *input, int8_t *output);"));
    QVERIFY(readAll(out + "/fmnist.h").contains("int fmnist_run_f32(const float *input, float *output);"));
    QVERIFY2(!entries(tmp_.path()).join(",").contains("joule-"), qPrintable(entries(tmp_.path()).join(",")));
}

void ExportCli::opWithoutKernelIsRefused()
{
    // The fp32 baseline runs float convolutions, which the C export does not have.
    const QString out = tmp_.filePath("fp32");
    const CliResult r = runJoule({"export", "--store", store_, "--candidate", baselineId_, "--format", "bundle", "--out", out});
    QCOMPARE(r.exitCode, 1);
    const QString reason = r.errLines().last();   // after the progress lines
    QVERIFY2(reason.contains("node '/stem/Conv' (Conv)") && reason.contains("no kernel for Conv"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY2(!entries(tmp_.path()).join(",").contains("joule-"), qPrintable(entries(tmp_.path()).join(",")));
}

void ExportCli::storeAndRecipeExportTheSame()
{
    const QString a = tmp_.filePath("from-store"), b = tmp_.filePath("from-recipe");
    const CliResult s = runJoule({"export", "--store", store_, "--candidate", int8Id_, "--format", "c", "--out", a, "--json"});
    QVERIFY2(s.exitCode == 0, qPrintable(s.err));
    const CliResult r = runJoule({"export", recipe(), "--candidate", "c1", "--format", "c", "--out", b, "--json"}, 300000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QCOMPARE(readAll(a + "/model.c"), readAll(b + "/model.c"));
    QCOMPARE(readAll(a + "/model.h"), readAll(b + "/model.h"));
    QVERIFY(readAll(a + "/model.c").size() > 100000);
    // --json prints the manifest, and only it, on stdout.
    const QJsonObject m = QJsonDocument::fromJson(s.out.toUtf8()).object();
    QCOMPARE(m["format"].toString(), QString("c"));
    QCOMPARE(m["candidate"]["id"].toString(), int8Id_);
    QVERIFY(m["c"]["arena_bytes"].toInteger() > 0);
    QCOMPARE(m["c"]["arena_bytes"].toInteger(), m["estimate"]["arena_bytes"].toInteger());
    QVERIFY(m["origin"].toString().contains(store_));
}

void ExportCli::onnxFormat()
{
    const QString out = tmp_.filePath("onnx");
    const CliResult r = runJoule({"export", "--store", store_, "--candidate", int8Id_, "--format", "onnx", "--out", out});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QCOMPARE(entries(out), QStringList{"model.onnx"});
    const joule::Graph g = joule::onnx::loadModel((out + "/model.onnx").toStdString());   // checked by onnx::checker
    QVERIFY(joule::rt::hasQdq(g));
    const joule::store::Store db(store_);
    const auto c = db.candidatesById({int8Id_.toLongLong()});
    QCOMPARE(c.size(), size_t{1});
    // The stored graph, node for node and weight for weight.
    const joule::Graph stored = joule::onnx::loadModelFromBytes(db.graph(c.front().graphHashes.at(0)).toStdString(), "store");
    QCOMPARE(g.nodes().size(), stored.nodes().size());
    for (size_t i = 0; i < g.nodes().size(); ++i) {
        QCOMPARE(g.nodes()[i].name, stored.nodes()[i].name);
        QCOMPARE(g.nodes()[i].inputs, stored.nodes()[i].inputs);
    }
    QCOMPARE(g.initializers().size(), stored.initializers().size());
    for (const auto& [name, t] : stored.initializers()) QVERIFY2(g.initializer(name) && g.initializer(name)->sameContents(t), name.c_str());
}

void ExportCli::badArguments_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QString out = QDir::tempPath() + "/joule-export-never-written";
    QTest::newRow("format") << QStringList{"--candidate", "c1", "--format", "elf", "--out", out} << "--format: 'elf' is not one of c, onnx, bundle";
    QTest::newRow("name") << QStringList{"--candidate", "c1", "--format", "c", "--out", out, "--name", "9lives"} << "--name: '9lives' is not a C identifier";
    QTest::newRow("no candidate") << QStringList{"--format", "c", "--out", out} << "--candidate ID is required";
    QTest::newRow("no out") << QStringList{"--candidate", "c1", "--format", "c"} << "--out DIR is required";
}

void ExportCli::badArguments()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const CliResult r = runJoule(QStringList{"export", recipe()} + args);
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(QDir::tempPath() + "/joule-export-never-written"));

    // A candidate the run does not make, and a store candidate that does not exist.
    if (QString(QTest::currentDataTag()) == "format") {
        const CliResult s = runJoule({"export", "--store", store_, "--candidate", "999", "--format", "c", "--out", tmp_.filePath("none")});
        QCOMPARE(s.exitCode, 1);
        QVERIFY2(s.err.contains("no candidate 999"), qPrintable(s.err));
    }
}

void ExportCli::failedWriteLeavesNothing()
{
    // "a" as a file and as a folder: the second write fails half-way through the export.
    const QString out = tmp_.filePath("half");
    try {
        joule::exporter::writeFolder(out, {{"a", "first\n"}, {"a/b", "second\n"}}, false);
        QFAIL("a conflicting file set was written");
    } catch (const joule::exporter::ExportError& e) {
        QVERIFY2(QString(e.what()).contains("cannot write"), e.what());
    }
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY2(!entries(tmp_.path()).join(",").contains("joule-"), qPrintable(entries(tmp_.path()).join(",")));

    // The same over an existing folder with --force: the old folder stays as it was.
    QVERIFY(QDir().mkpath(out));
    QVERIFY(writeText(out + "/keep.txt", "keep\n"));
    try {
        joule::exporter::writeFolder(out, {{"a", "first\n"}, {"a/b", "second\n"}}, true);
        QFAIL("a conflicting file set was written");
    } catch (const joule::exporter::ExportError&) {
    }
    QCOMPARE(entries(out), QStringList{"keep.txt"});
    QCOMPARE(readAll(out + "/keep.txt"), QByteArray("keep\n"));
}

QTEST_GUILESS_MAIN(ExportCli)
#include "tst_export_cli.moc"
