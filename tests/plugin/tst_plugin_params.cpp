// Parameters declared in a manifest: parsing the declaration, resolving a recipe's values.
#include "plugin/parameter.h"

#include <QJsonDocument>
#include <QtTest>

using namespace joule::plugin;

namespace {

QJsonObject json(const char* text)
{
    return QJsonDocument::fromJson(text).object();
}

// The PluginError message of `f`, or "" when it did not throw.
template <typename F> QString errorOf(F f)
{
    try {
        f();
    } catch (const PluginError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

std::vector<ParamSpec> quantizeLikeSpecs()
{
    return {parseParamSpec(json(R"({"key":"bits","type":"int","default":8,"min":2,"max":8,"help":"weight bits"})"), "plugin 'q'"),
            parseParamSpec(json(R"({"key":"percentile","type":"double","default":99.99,"min":50,"max":100})"), "plugin 'q'"),
            parseParamSpec(json(R"({"key":"per_channel","type":"bool","default":true})"), "plugin 'q'"),
            parseParamSpec(json(R"({"key":"calibration","type":"choice","default":"minmax","choices":["minmax","entropy"]})"), "plugin 'q'"),
            parseParamSpec(json(R"({"key":"note","type":"string","default":""})"), "plugin 'q'")};
}

} // namespace

class TestPluginParams : public QObject {
    Q_OBJECT
private slots:
    void parsesEveryFieldOfADeclaration()
    {
        const ParamSpec s = parseParamSpec(
            json(R"({"key":"bits","type":"int","default":8,"min":2,"max":8,"help":"weight bits"})"), "plugin 'q'");
        QCOMPARE(s.key, QString("bits"));
        QCOMPARE(s.type, ParamSpec::Type::Int);
        QCOMPARE(s.defaultValue.typeId(), int(QMetaType::LongLong));
        QCOMPARE(s.defaultValue.toLongLong(), 8);
        QCOMPARE(*s.min, 2.0);
        QCOMPARE(*s.max, 8.0);
        QCOMPARE(s.help, QString("weight bits"));
        const ParamSpec c = parseParamSpec(json(R"({"key":"m","type":"choice","default":"b","choices":["a","b"]})"), "p");
        QCOMPARE(c.choices, QStringList({"a", "b"}));
        QCOMPARE(c.defaultValue.toString(), QString("b"));
        // paramSpecToJson gives the manifest form back.
        QCOMPARE(paramSpecToJson(s), json(R"({"key":"bits","type":"int","default":8,"min":2,"max":8,"help":"weight bits"})"));
    }

    void rejectsBrokenDeclarationsNamingTheField_data()
    {
        QTest::addColumn<QString>("entry");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no key") << R"({"type":"int","default":1})" << "plugin 'q': a parameter has no field 'key'";
        QTest::newRow("no type") << R"({"key":"k","default":1})" << "plugin 'q': parameter 'k': field 'type' is missing";
        QTest::newRow("unknown type") << R"({"key":"k","type":"float","default":1})" << "field 'type': unknown type 'float'";
        QTest::newRow("no default") << R"({"key":"k","type":"int"})" << "parameter 'k': field 'default' is missing";
        QTest::newRow("default wrong type") << R"({"key":"k","type":"int","default":"8"})" << "parameter 'k': field 'default'";
        QTest::newRow("fractional int") << R"({"key":"k","type":"int","default":2.5})" << "2.5 is not an integer";
        QTest::newRow("default above max") << R"({"key":"k","type":"int","default":12,"min":2,"max":8})"
                                           << "parameter 'k': field 'default': 12 is above the maximum 8";
        QTest::newRow("min above max") << R"({"key":"k","type":"double","default":1,"min":3,"max":2})" << "field 'min' (3) is above 'max' (2)";
        QTest::newRow("choice without choices") << R"({"key":"k","type":"choice","default":"a"})" << "needs a non-empty field 'choices'";
        QTest::newRow("default not a choice") << R"({"key":"k","type":"choice","default":"c","choices":["a","b"]})"
                                              << "\"c\" is not one of a, b";
        QTest::newRow("range on a bool") << R"({"key":"k","type":"bool","default":true,"max":1})" << "field 'max' applies to int and double";
        QTest::newRow("typo field") << R"({"key":"k","type":"int","default":1,"maximum":3})" << "parameter 'k': unknown field 'maximum'";
    }
    void rejectsBrokenDeclarationsNamingTheField()
    {
        QFETCH(QString, entry);
        QFETCH(QString, expected);
        const QString error = errorOf([&] { parseParamSpec(json(entry.toUtf8().constData()), "plugin 'q'"); });
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void resolveFillsDefaultsAndConvertsTypes()
    {
        const QVariantMap p = resolveParams(quantizeLikeSpecs(), {{"bits", 4.0}, {"calibration", "entropy"}}, "plugin 'q'");
        QCOMPARE(p.size(), 5);
        QCOMPARE(p["bits"].typeId(), int(QMetaType::LongLong));
        QCOMPARE(p["bits"].toInt(), 4);
        QCOMPARE(p["percentile"].toDouble(), 99.99);
        QCOMPARE(p["per_channel"].toBool(), true);
        QCOMPARE(p["calibration"].toString(), QString("entropy"));
        QCOMPARE(p["note"].toString(), QString(""));
    }

    void resolveRejectsBadValuesNamingPluginAndKey_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QVariant>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("above max") << "bits" << QVariant(12) << "plugin 'q': parameter 'bits': 12 is above the maximum 8";
        QTest::newRow("below min") << "percentile" << QVariant(10.0) << "plugin 'q': parameter 'percentile': 10 is below the minimum 50";
        QTest::newRow("fractional int") << "bits" << QVariant(4.5) << "parameter 'bits': 4.5 is not an integer";
        QTest::newRow("bool as int") << "bits" << QVariant(true) << "parameter 'bits': true is not an integer";
        QTest::newRow("string as bool") << "per_channel" << QVariant("yes") << "parameter 'per_channel': \"yes\" is not true or false";
        QTest::newRow("not a choice") << "calibration" << QVariant("kl") << "parameter 'calibration': \"kl\" is not one of minmax, entropy";
        QTest::newRow("unknown key") << "bitz" << QVariant(8)
                                     << "plugin 'q': parameter 'bitz': unknown parameter (known: bits, percentile, per_channel, calibration, note)";
    }
    void resolveRejectsBadValuesNamingPluginAndKey()
    {
        QFETCH(QString, key);
        QFETCH(QVariant, value);
        QFETCH(QString, expected);
        const QString error = errorOf([&] { resolveParams(quantizeLikeSpecs(), {{key, value}}, "plugin 'q'"); });
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void resolveAcceptsTheBoundsThemselves()
    {
        QCOMPARE(resolveParams(quantizeLikeSpecs(), {{"bits", 2}}, "q")["bits"].toInt(), 2);
        QCOMPARE(resolveParams(quantizeLikeSpecs(), {{"percentile", 100}}, "q")["percentile"].toDouble(), 100.0);
    }
};

QTEST_GUILESS_MAIN(TestPluginParams)
#include "tst_plugin_params.moc"
