#pragma once
// Runs build/bin/joule as a user would and captures exit code, stdout and stderr.

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QtTest>

struct CliResult {
    int exitCode = -1;
    QString out;
    QString err;
    QStringList errLines() const { return err.split('\n', Qt::SkipEmptyParts); }
};

inline QString jouleBinary()
{
    return qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule";
}

inline CliResult runJoule(const QStringList& args, int timeoutMs = 120000)
{
    QProcess p;
    p.start(jouleBinary(), args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}
