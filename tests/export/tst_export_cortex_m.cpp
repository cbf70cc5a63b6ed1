// The exported C on an emulated Cortex-M4 (qemu-system-arm, machine mps2-an386, semihosting): the
// harness built with arm-none-eabi-gcc for the M4F must write the same bytes as on the host, and
// both the studio's answers, on the first 100 Fashion-MNIST test images. And the bundle's
// Cortex-M4 build: static RAM within 5 % of the planner's arena plus the I/O buffers.
#include "export_test_util.h"

#include <QTemporaryDir>

using namespace export_test;

namespace {
const int kImages = 100;
const QStringList kArmFlags = {"-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2",
                               "-ffp-contract=off", "-Wall", "-Werror", "-pedantic"};
QString cortexM(const QString& file) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/core/export/cortex_m/" + file; }
} // namespace

class ExportCortexM : public QObject {
    Q_OBJECT
private slots:
    void sameAsHost_data();
    void sameAsHost();
    void buildSizes_data() { sameAsHost_data(); }
    void buildSizes();
};

void ExportCortexM::sameAsHost_data()
{
    addBundleRows();
}

void ExportCortexM::sameAsHost()
{
    QFETCH(QString, bundle);
    const QString dir = bundleDir(bundle);
    const QJsonObject manifest = readManifest(dir);
    QVERIFY2(!manifest.isEmpty(), qPrintable(dir + "/manifest.json is missing (the export_bundles fixture makes it)"));
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QStringList defines = {"-DJOULE_MODEL=model", "-DJOULE_MODEL_HEADER=\"model.h\"", "-I" + dir + "/c"};

    const Run host = run("cc", QStringList{"-std=c99", "-Wall", "-Werror", "-pedantic", "-O2"} + defines +
                                   QStringList{harnessSource(), dir + "/c/model.c", "-o", tmp.filePath("harness")});
    QVERIFY2(host.exitCode == 0, qPrintable("cc failed: " + host.output));
    const Run arm = run("arm-none-eabi-gcc", kArmFlags + defines +
                                                 QStringList{harnessSource(), dir + "/c/model.c", cortexM("startup.c"), "--specs=rdimon.specs",
                                                             "-T", cortexM("mps2_an386.ld"), "-o", tmp.filePath("harness.elf")});
    QVERIFY2(arm.exitCode == 0, qPrintable("arm-none-eabi-gcc failed: " + arm.output));

    const std::vector<float> images = testImages(manifest["model"]["file"].toString(), kImages);
    QVERIFY(writeFloats(tmp.filePath("input.bin"), images));
    const Run h = run(tmp.filePath("harness"), {tmp.filePath("input.bin"), tmp.filePath("host.bin")});
    QVERIFY2(h.exitCode == 0, qPrintable("host harness failed: " + h.output));
    // QEMU exits with main's return value; a fault would spin, so the wait is bounded.
    const Run q = run("qemu-system-arm", {"-machine", "mps2-an386", "-nographic", "-semihosting-config", "enable=on,target=native", "-kernel",
                                          tmp.filePath("harness.elf"), "-append", tmp.filePath("input.bin") + " " + tmp.filePath("arm.bin")},
                      300000);
    QVERIFY2(q.exitCode == 0, qPrintable("qemu-system-arm: exit " + QString::number(q.exitCode) + ": " + q.output));

    QFile hf(tmp.filePath("host.bin")), af(tmp.filePath("arm.bin"));
    QVERIFY(hf.open(QIODevice::ReadOnly) && af.open(QIODevice::ReadOnly));
    const QByteArray hostBytes = hf.readAll(), armBytes = af.readAll();
    const int64_t outSize = manifest["c"]["output_size"].toInteger();
    QCOMPARE(hostBytes.size(), static_cast<qsizetype>(kImages * (8 + 5 * outSize)));
    int64_t differing = 0;
    for (qsizetype i = 0; i < hostBytes.size(); ++i) differing += i >= armBytes.size() || hostBytes[i] != armBytes[i] ? 1 : 0;
    qInfo("%s: %d images, %lld of %lld bytes differ between the Cortex-M4 and the host", qPrintable(bundle), kImages,
          static_cast<long long>(differing), static_cast<long long>(hostBytes.size()));
    QCOMPARE(armBytes.size(), hostBytes.size());
    QCOMPARE(differing, int64_t{0});

    // And both are the studio's answers.
    const std::vector<Answer> got = readAnswers(tmp.filePath("arm.bin"), outSize);
    const std::vector<Answer> want = studioAnswers(dir, manifest, images, kImages);
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        QCOMPARE(got[i].stage, want[i].stage);
        QCOMPARE(got[i].stage8, want[i].stage8);
        QVERIFY(std::memcmp(got[i].out.data(), want[i].out.data(), got[i].out.size() * sizeof(float)) == 0);
        QCOMPARE(got[i].out8, want[i].out8);
    }
}

void ExportCortexM::buildSizes()
{
    QFETCH(QString, bundle);
    const QJsonObject manifest = readManifest(bundleDir(bundle));
    QVERIFY(!manifest.isEmpty());
    const QJsonObject cm = manifest["cortex_m4"].toObject();
    QVERIFY2(cm["built"].toBool(), qPrintable("the bundle's Cortex-M4 build failed: " + cm["error"].toString()));
    const QJsonObject model = cm["model"].toObject();
    const int64_t ram = model["ram_bytes"].toInteger(), flash = model["flash_bytes"].toInteger();
    const int64_t io = cm["io_bytes"].toInteger();
    const int64_t planned = manifest["estimate"]["arena_bytes"].toInteger();
    QCOMPARE(io, manifest["c"]["input_size"].toInteger() + manifest["c"]["output_size"].toInteger());   // int8 codes in and out
    qInfo("%s: Cortex-M4 static RAM %lld + I/O %lld bytes vs the planner's arena %lld + I/O; flash %lld vs weights %lld bytes",
          qPrintable(bundle), static_cast<long long>(ram), static_cast<long long>(io), static_cast<long long>(planned),
          static_cast<long long>(flash), static_cast<long long>(manifest["estimate"]["weight_bytes"].toInteger()));
    QVERIFY(planned > 0);
    const double ratio = static_cast<double>(ram + io) / static_cast<double>(planned + io);
    QVERIFY2(ratio > 0.95 && ratio < 1.05, qPrintable(QString("RAM / (arena + I/O) = %1").arg(ratio)));
    QCOMPARE(cm["ram_over_planner"].toDouble(), ratio);
    // Flash holds at least the weights, and not much else.
    const int64_t weights = manifest["c"]["weight_bytes"].toInteger();
    QVERIFY(flash >= weights);
    QVERIFY(flash < weights + 64 * 1024);
}

QTEST_GUILESS_MAIN(ExportCortexM)
#include "tst_export_cortex_m.moc"
