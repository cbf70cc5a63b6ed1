// docs/cli.md is the CLI reference: for every program and every command `joule --help` lists, its
// `<!-- help: PROGRAM [COMMAND] -->` block must be exactly what `--help` prints, and every block must
// belong to a program or command that exists. tests/cli/update_cli_reference.py rewrites the blocks
// from the programs after a deliberate change of a --help text.
#include "cli_test_util.h"

#include <QFile>
#include <QProcessEnvironment>
#include <QRegularExpression>

#include <map>

namespace {

QString reference() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/docs/cli.md"; }

// "joule info" -> the text of its block.
std::map<QString, QString> documentedHelp(QString* error)
{
    QFile f(reference());
    if (!f.open(QIODevice::ReadOnly)) {
        *error = f.fileName() + ": cannot read";
        return {};
    }
    const QString text = QString::fromUtf8(f.readAll());
    static const QRegularExpression block("<!-- help: ([a-z -]+?) -->\\n```text\\n(.*?)```\\n", QRegularExpression::DotMatchesEverythingOption);
    std::map<QString, QString> docs;
    for (auto it = block.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        if (docs.count(m.captured(1))) *error = "docs/cli.md documents '" + m.captured(1) + "' twice";
        docs[m.captured(1)] = m.captured(2);
    }
    if (docs.empty()) *error = "docs/cli.md has no <!-- help: ... --> blocks";
    return docs;
}

CliResult runProgram(const QString& program, const QStringList& args)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    p.setProcessEnvironment(env);
    p.start(qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/" + program, args);
    if (!p.waitForFinished(60000)) p.kill(), p.waitForFinished();
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

// The commands `joule --help` lists under "commands:".
QStringList commands(const QString& usage)
{
    QStringList names;
    bool in = false;
    for (const QString& line : usage.split('\n')) {
        if (line == "commands:") { in = true; continue; }
        static const QRegularExpression row("^  ([a-z]+) ");
        if (const auto m = row.match(line); in && m.hasMatch()) names << m.captured(1);
    }
    return names;
}

} // namespace

class TestCliReference : public QObject {
    Q_OBJECT
private slots:
    void everyHelpTextIsTheReference()
    {
        QString error;
        std::map<QString, QString> docs = documentedHelp(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));

        const CliResult usage = runProgram("joule", {"--help"});
        QCOMPARE(usage.exitCode, 0);
        const QStringList names = commands(usage.out);
        QVERIFY2(names.size() >= 15, qPrintable(usage.out));
        std::vector<std::pair<QString, QStringList>> programs = {{"joule", {"joule"}}, {"joule-studio", {"joule-studio"}},
                                                                 {"joule-conformance", {"joule-conformance"}}};
        for (const QString& n : names) programs.push_back({"joule " + n, {"joule", n}});

        QStringList problems;
        for (const auto& [key, argv] : programs) {
            const CliResult r = runProgram(argv[0], argv.mid(1) + QStringList{"--help"});
            if (r.exitCode != 0) {
                problems << key + " --help exits with " + QString::number(r.exitCode) + ": " + r.err;
                continue;
            }
            const auto doc = docs.find(key);
            if (doc == docs.end()) {
                problems << "docs/cli.md has no block for '" + key + "'";
                continue;
            }
            if (doc->second != r.out) {
                // The first line that differs, to read in the failure.
                const QStringList a = doc->second.split('\n'), b = r.out.split('\n');
                qsizetype i = 0;
                while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
                problems << "'" + key + "' differs at line " + QString::number(i + 1) + ": docs/cli.md has '" + a.value(i)
                                + "', --help prints '" + b.value(i) + "'";
            }
            docs.erase(doc);
        }
        for (const auto& [key, text] : docs) problems << "docs/cli.md documents '" + key + "', which is not a program or command";
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join("\n") + "\n(after a deliberate change: /usr/bin/python3 "
                                                "tests/cli/update_cli_reference.py build)"));
    }
};

QTEST_GUILESS_MAIN(TestCliReference)
#include "tst_cli_reference.moc"
