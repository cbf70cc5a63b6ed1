// The experiment store's file handling: a store of the first schema is migrated on open; a file that
// is not a Joule store, or is of a newer schema, is refused and left byte for byte as it was.
#include "store/store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

using namespace joule;

namespace {

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString message(const QString& path)
{
    try {
        store::Store s(path);
    } catch (const store::StoreError& e) {
        return e.what();
    }
    return {};
}

// An SQLite database with the given application_id and user_version.
void makeDatabase(const QString& path, int app, int version)
{
    sqlite3* db = nullptr;
    sqlite3_open(path.toUtf8().constData(), &db);
    sqlite3_exec(db, ("CREATE TABLE t (x); PRAGMA application_id = " + std::to_string(app) + "; PRAGMA user_version = " +
                      std::to_string(version) + ";").c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

} // namespace

class TestStore : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    void expectRefusedUntouched(const QString& path, const QString& says)
    {
        const QByteArray before = readAll(path);
        const QString why = message(path);
        QVERIFY2(why.contains(path) && why.contains(says), qPrintable(why));
        QCOMPARE(readAll(path), before);
        QVERIFY(!QFile::exists(path + "-wal"));
        QVERIFY(!QFile::exists(path + "-shm"));
    }

private slots:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void aNewStoreHasTheCurrentSchema()
    {
        const QString path = tmp_.filePath("new.db");
        store::Store s(path);
        QCOMPARE(s.schemaVersion(), store::kSchemaVersion);
        QVERIFY(s.runs().empty());
        QCOMPARE(s.integrityCheck(), QString("ok"));
    }

    void aStoreOfTheFirstSchemaIsMigratedOnOpen()
    {
        const QString fixture = qEnvironmentVariable("JOULE_SOURCE_DIR") + "/tests/store/fixtures/store_v1.db";
        QVERIFY2(QFile::exists(fixture), qPrintable(fixture + " is missing"));
        const QString path = tmp_.filePath("v1.db");
        QVERIFY(QFile::copy(fixture, path));
        QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner);
        store::Store s(path);
        QCOMPARE(s.schemaVersion(), store::kSchemaVersion);
        const auto runs = s.runs();
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(runs[0].name, QString("little"));
        QVERIFY(runs[0].pointKey.isEmpty());
        const auto candidates = s.candidates();
        QCOMPARE(candidates.size(), size_t(1));
        QCOMPARE(candidates[0].macs, int64_t(78400));
        QCOMPARE(*candidates[0].energyUj, 154.36);
        QCOMPARE(s.records(candidates[0].id).size(), size_t(3));
        QVERIFY(!s.hasPoint("x"));   // the column version 2 added is there
        QCOMPARE(s.integrityCheck(), QString("ok"));
    }

    void aFileThatIsNotAStoreIsRefusedAndLeftUntouched()
    {
        const QString text = tmp_.filePath("notes.txt");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("these are my notes, not a database\n");
        f.close();
        expectRefusedUntouched(text, "not a Joule store");

        const QString other = tmp_.filePath("other.db");
        makeDatabase(other, 12345, 1);
        expectRefusedUntouched(other, "not a Joule store (SQLite application_id 12345)");

        const QString empty = tmp_.filePath("empty.db");
        QFile e(empty);
        QVERIFY(e.open(QIODevice::WriteOnly));
        e.close();
        expectRefusedUntouched(empty, "not a Joule store");
    }

    void aStoreFromANewerVersionIsRefusedAndLeftUntouched()
    {
        const QString newer = tmp_.filePath("newer.db");
        makeDatabase(newer, store::kApplicationId, store::kSchemaVersion + 1);
        expectRefusedUntouched(newer, "is newer than this joule's");
    }

    void metricsAreNamedAsInTheJson()
    {
        store::StoredCandidate c;
        c.accuracy = 0.9;
        c.macs = 7;
        QCOMPARE(*c.metric("accuracy"), 0.9);
        QCOMPARE(*c.metric("macs"), 7.0);
        QVERIFY(!c.metric("energy_uj"));
        QVERIFY_THROWS_EXCEPTION(store::StoreError, c.metric("speed"));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
