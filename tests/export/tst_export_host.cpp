// The exported C, compiled with the system C compiler (-std=c99 -Wall -Werror -pedantic), against the
// studio's integer engine on all 10,000 Fashion-MNIST test images: every output byte and every
// answering stage must be equal (docs/export.md).
#include "export_test_util.h"

#include <QTemporaryDir>

using namespace export_test;

class ExportHost : public QObject {
    Q_OBJECT
private slots:
    void bitExact_data();
    void bitExact();
};

void ExportHost::bitExact_data()
{
    addBundleRows();
}

void ExportHost::bitExact()
{
    QFETCH(QString, bundle);
    const QString dir = bundleDir(bundle);
    const QJsonObject manifest = readManifest(dir);
    QVERIFY2(!manifest.isEmpty(), qPrintable(dir + "/manifest.json is missing (the export_bundles fixture makes it)"));
    const QJsonObject c = manifest["c"].toObject();
    const int64_t outSize = c["output_size"].toInteger();
    QCOMPARE(c["input_size"].toInteger(), 784);
    QCOMPARE(outSize, 10);

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString exe = tmp.filePath("harness");
    const Run cc = run("cc", {"-std=c99", "-Wall", "-Werror", "-pedantic", "-O2", "-DJOULE_MODEL=model", "-DJOULE_MODEL_HEADER=\"model.h\"",
                              "-I" + dir + "/c", harnessSource(), dir + "/c/model.c", "-o", exe});
    QVERIFY2(cc.exitCode == 0, qPrintable("cc failed: " + cc.output));
    QVERIFY2(cc.output.trimmed().isEmpty(), qPrintable("cc printed: " + cc.output));

    std::vector<int64_t> labels;
    const std::vector<float> images = testImages(manifest["model"]["file"].toString(), 10000, &labels);
    QCOMPARE(images.size(), size_t{10000 * 784});
    QVERIFY(writeFloats(tmp.filePath("input.bin"), images));
    const Run h = run(exe, {tmp.filePath("input.bin"), tmp.filePath("output.bin")});
    QVERIFY2(h.exitCode == 0, qPrintable("harness failed: " + h.output));
    const std::vector<Answer> got = readAnswers(tmp.filePath("output.bin"), outSize);
    QCOMPARE(got.size(), size_t{10000});

    const std::vector<Answer> want = studioAnswers(dir, manifest, images, 10000);
    int64_t floatBytes = 0, codeBytes = 0, stages = 0, stages8 = 0, correct = 0;
    std::vector<int64_t> perStage(8, 0);
    QString first;
    for (size_t i = 0; i < want.size(); ++i) {
        const Answer& g = got[i];
        const Answer& w = want[i];
        const bool floatsEqual = std::memcmp(g.out.data(), w.out.data(), g.out.size() * sizeof(float)) == 0;
        floatBytes += floatsEqual ? 0 : 1;
        codeBytes += g.out8 == w.out8 ? 0 : 1;
        stages += g.stage == w.stage ? 0 : 1;
        stages8 += g.stage8 == w.stage8 ? 0 : 1;
        if (first.isEmpty() && (!floatsEqual || g.out8 != w.out8 || g.stage != w.stage || g.stage8 != w.stage8))
            first = QString("input %1: stage %2/%3 vs %4, logit[0] %5 vs %6, code[0] %7 vs %8")
                        .arg(i).arg(g.stage).arg(g.stage8).arg(w.stage).arg(g.out[0], 0, 'g', 9).arg(w.out[0], 0, 'g', 9).arg(g.out8[0]).arg(w.out8[0]);
        if (g.stage >= 0 && g.stage < 8) ++perStage[static_cast<size_t>(g.stage)];
        const int64_t best = std::max_element(g.out.begin(), g.out.end()) - g.out.begin();
        correct += best == labels[i] ? 1 : 0;
    }
    qInfo("%s: %lld inputs; float outputs differing %lld, int8 outputs differing %lld, stages differing %lld / %lld; stage counts %lld / %lld; accuracy %.4f (studio %.4f)",
          qPrintable(bundle), static_cast<long long>(want.size()), static_cast<long long>(floatBytes), static_cast<long long>(codeBytes),
          static_cast<long long>(stages), static_cast<long long>(stages8), static_cast<long long>(perStage[0]), static_cast<long long>(perStage[1]),
          static_cast<double>(correct) / 10000.0, manifest["accuracy"].toDouble());
    QVERIFY2(floatBytes == 0 && codeBytes == 0 && stages == 0 && stages8 == 0, qPrintable("first difference: " + first));
    // The C model's accuracy is the studio's, to the input.
    QCOMPARE(static_cast<double>(correct) / 10000.0, manifest["accuracy"].toDouble());
    if (manifest["candidate"]["policy"]["kind"].toString() == "cascade") {
        // Both stages answer some inputs, so the stopping rule itself was compared.
        QVERIFY(perStage[0] > 1000);
        QVERIFY(perStage[1] > 1000);
    }
}

QTEST_GUILESS_MAIN(ExportHost)
#include "tst_export_host.moc"
