// docs/architecture.md is the contract others script against: every JSON document it shows must
// have exactly the keys the command prints. Each `<!-- contract: NAME -->` block is compared with a
// real run of the command that prints the most keys (int8 bench, a multi-cluster target, a recipe
// with an export directory): every printed key must be documented, at every depth, and every
// documented top-level key must be printed.
#include "cli_test_util.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>

namespace {

QString sourceDir() { return qEnvironmentVariable("JOULE_SOURCE_DIR"); }
QString model(const char* name) { return sourceDir() + "/resources/models/" + name + ".onnx"; }

// NAME -> the example document of `<!-- contract: NAME -->` followed by a ```json block.
std::map<QString, QJsonObject> documentedContracts(QString* error)
{
    QFile f(sourceDir() + "/docs/architecture.md");
    if (!f.open(QIODevice::ReadOnly)) {
        *error = f.fileName() + ": cannot read";
        return {};
    }
    const QString text = QString::fromUtf8(f.readAll());
    static const QRegularExpression block("<!-- contract: (\\S+) -->\\n```json\\n(.*?)\\n```",
                                          QRegularExpression::DotMatchesEverythingOption);
    std::map<QString, QJsonObject> docs;
    for (auto it = block.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        QJsonParseError pe;
        const QJsonDocument d = QJsonDocument::fromJson(m.captured(2).toUtf8(), &pe);
        if (pe.error != QJsonParseError::NoError || !d.isObject()) {
            *error = "contract '" + m.captured(1) + "' is not one JSON object: " + pe.errorString();
            return {};
        }
        docs[m.captured(1)] = d.object();
    }
    return docs;
}

// Paths whose objects are keyed by data (op names, cluster ids, a plugin's own parameters and
// notes): their keys are not compared, each value is compared with the documented first value.
bool keyedByData(const QString& path)
{
    static const QStringList paths = {".integer_ops", ".mapping.layers_on_cluster", ".mapping.all_on_cluster",
                                      ".candidates[].params", ".candidates[].notes", ".runs[].candidates[].params",
                                      ".front[].params", ".runs[].point", ".candidate.params"};
    return paths.contains(path);
}

// Every key of `printed` must appear in `documented`, recursively; arrays compare each printed
// element with the documented first element.
void compareKeys(const QJsonValue& documented, const QJsonValue& printed, const QString& path, QStringList& problems)
{
    if (printed.isObject() && documented.isObject()) {
        const QJsonObject p = printed.toObject(), d = documented.toObject();
        if (keyedByData(path)) {
            if (d.isEmpty()) return;
            const QJsonValue example = d.begin().value();
            if (example.isObject())
                for (auto it = p.begin(); it != p.end(); ++it) compareKeys(example, it.value(), path + ".*", problems);
            return;
        }
        for (auto it = p.begin(); it != p.end(); ++it) {
            if (!d.contains(it.key())) problems << path + "." + it.key() + " is printed but not documented";
            else compareKeys(d.value(it.key()), it.value(), path + "." + it.key(), problems);
        }
        return;
    }
    if (printed.isArray() && documented.isArray()) {
        const QJsonArray d = documented.toArray();
        if (d.isEmpty()) return;
        for (const QJsonValue& v : printed.toArray()) compareKeys(d.first(), v, path + "[]", problems);
        return;
    }
    if (printed.isObject() || printed.isArray())
        problems << path + " is an " + (printed.isObject() ? "object" : "array") + " but documented as a plain value";
}

QJsonObject runForJson(const QString& binary, const QStringList& args, QString* error)
{
    QProcess p;
    p.start(binary, args);
    if (!p.waitForFinished(600000) || p.exitCode() != 0) {
        *error = binary + " " + args.join(' ') + ": exit " + QString::number(p.exitCode()) + ": " +
                 QString::fromUtf8(p.readAllStandardError());
        return {};
    }
    QJsonParseError pe;
    const QJsonDocument d = QJsonDocument::fromJson(p.readAllStandardOutput(), &pe);
    if (pe.error != QJsonParseError::NoError || !d.isObject()) *error = args.join(' ') + ": stdout is not one JSON object";
    return d.object();
}

} // namespace

class CliDocs : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::map<QString, QJsonObject> docs_;

    QString writeRecipe()
    {
        const QString path = tmp_.filePath("recipe.json");
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly)) return {};
        f.write(QJsonDocument(QJsonObject{
                                  {"name", "docs check"},
                                  {"model", model("fmnist_little")},
                                  {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 64}}},
                                                           {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 64}}}}},
                                  {"target", "stm32l4r5"},
                                  {"steps", QJsonArray{QJsonObject{{"plugin", "quantize"},
                                                                   {"params", QJsonObject{{"calibration_samples", 64}, {"sqnr_samples", 4}}}}}}})
                    .toJson());
        return path;
    }

    // A small cascade on a big.LITTLE board (stages on chosen clusters), written with --records-dir.
    QString writeCascadeRecipe()
    {
        const QString path = tmp_.filePath("cascade.json");
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly)) return {};
        f.write(QJsonDocument(QJsonObject{
                                  {"model", model("fmnist_resnet8")},
                                  {"models", QJsonObject{{"little", model("fmnist_little")}, {"big", model("fmnist_resnet8")}}},
                                  {"datasets", QJsonObject{{"validation", QJsonObject{{"spec", "fashion-mnist:train"}, {"offset", 50000}, {"limit", 300}}},
                                                           {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 100}}}}},
                                  {"target", "rk3399"},
                                  {"steps", QJsonArray{QJsonObject{{"plugin", "cascade"},
                                                                   {"params", QJsonObject{{"stages", "little,big"}, {"clusters", "a53,a72"}}}}}}})
                    .toJson());
        return path;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        QString error;
        docs_ = documentedContracts(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    void everyJsonCommandIsDocumented_data()
    {
        QTest::addColumn<QString>("contract");
        QTest::addColumn<QString>("binary");
        QTest::addColumn<QStringList>("args");
        const QString joule = jouleBinary();
        const QString conformance = qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule-conformance";
        QTest::newRow("info") << "info" << joule << QStringList{"info", model("fmnist_resnet8"), "--json"};
        QTest::newRow("bench") << "bench" << joule
                               << QStringList{"bench", model("fmnist_little"), "--precision", "int8", "--runs", "2", "--warmup", "0", "--json"};
        QTest::newRow("eval") << "eval" << joule
                              << QStringList{"eval", model("fmnist_little"), "--dataset", "fashion-mnist:test", "--limit", "64", "--json"};
        QTest::newRow("profile") << "profile" << joule
                                 << QStringList{"profile", model("fmnist_resnet8"), "--target", "rk3399", "--latency-budget-ms", "2", "--json"};
        QTest::newRow("profile-host") << "profile-host" << joule
                                      << QStringList{"profile", model("fmnist_little"), "--target", "host", "--runs", "2", "--warmup", "0", "--json"};
        QTest::newRow("targets") << "targets" << joule << QStringList{"targets", "--json"};
        QTest::newRow("plugins") << "plugins" << joule << QStringList{"plugins", "--json"};
        QTest::newRow("optimize") << "optimize" << joule
                                  << QStringList{"optimize", "RECIPE", "--export-dir", "EXPORT", "--json"};
        QTest::newRow("optimize (cascade)") << "optimize" << joule
                                            << QStringList{"optimize", "CASCADE", "--records-dir", "RECORDS", "--json"};
        QTest::newRow("whatif") << "whatif" << joule << QStringList{"whatif", "STAGES", "--thresholds", "0.9", "--json"};
        QTest::newRow("whatif-sweep") << "whatif-sweep" << joule << QStringList{"whatif", "STAGES", "--sweep", "100", "--json"};
        QTest::newRow("runs-list") << "runs-list" << joule << QStringList{"runs", "list", "--store", "STORE", "--json"};
        QTest::newRow("runs-show") << "runs-show" << joule << QStringList{"runs", "show", "1", "--store", "STORE", "--json"};
        QTest::newRow("pareto") << "pareto" << joule << QStringList{"pareto", "--store", "STORE", "--json"};
        QTest::newRow("runs-rebuild") << "runs-rebuild" << joule << QStringList{"runs", "rebuild", "2", "--store", "STORE", "--json"};
        QTest::newRow("export") << "export" << joule
                                << QStringList{"export", "--store", "STORE", "--candidate", "2", "--format", "bundle", "--out", "BUNDLE", "--json"};
        QTest::newRow("conformance") << "conformance" << conformance
                                     << QStringList{"/usr/share/libonnx-testdata/data/node/test_relu", "--json"};
    }
    void everyJsonCommandIsDocumented()
    {
        QFETCH(QString, contract);
        QFETCH(QString, binary);
        QFETCH(QStringList, args);
        for (QString& a : args) {
            if (a == "RECIPE") a = writeRecipe();
            if (a == "CASCADE") a = writeCascadeRecipe();
            if (a == "EXPORT") a = tmp_.filePath("export");
            if (a == "RECORDS") a = tmp_.filePath("records");
            if (a == "BUNDLE") a = tmp_.filePath("bundle");
            if (a == "STAGES") a = tmp_.filePath("records/c1.stages.json");   // written by the cascade row
            if (a == "STORE") a = tmp_.filePath("joule.db");   // the optimize rows record their runs next to their recipes
        }
        QVERIFY2(docs_.count(contract), qPrintable("docs/architecture.md has no <!-- contract: " + contract + " --> block"));
        QString error;
        const QJsonObject printed = runForJson(binary, args, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const QJsonObject& documented = docs_.at(contract);
        QStringList problems;
        compareKeys(documented, printed, "", problems);
        for (auto it = documented.begin(); it != documented.end(); ++it)
            if (!printed.contains(it.key())) problems << "." + it.key() + " is documented but not printed";
        QVERIFY2(problems.isEmpty(), qPrintable(contract + ": " + problems.join("; ")));
    }
};

QTEST_GUILESS_MAIN(CliDocs)
#include "tst_cli_docs.moc"
