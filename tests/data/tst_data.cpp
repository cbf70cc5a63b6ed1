// The data layer: NPY/NPZ, IDX (plain and gzip), image folders, dataset specs and preprocessing.
// Fixtures written by NumPy live in tests/data/files (regenerate with files/make_files.py); the
// rest is built by the tests themselves in a temporary directory.

#include "data/dataset.h"
#include "data/file_bytes.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/npy.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

using namespace joule;
using namespace joule::data;

namespace {

// The Fashion-MNIST folder the suite was started with ($JOULE_DATA or Debian's), fixed before any
// test changes JOULE_DATA; its files missing fail the tests that read them, naming the file.
const QByteArray kOuterData = qgetenv("JOULE_DATA");
const std::string kFashionDir = joule::data::fashionMnistDirectory();

std::string fixture(const char* name) { return std::string(JOULE_TEST_FILES) + "/" + name; }

// what() of the DataError `f` throws; fails the test if it throws nothing.
QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const DataError& e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("<no error>");
}

#define EXPECT_ERROR(expr, ...)                                                                           \
    do {                                                                                                  \
        const QString msg_ = errorOf([&] { (void)(expr); });                                              \
        for (const QString& part_ : QStringList{__VA_ARGS__})                                             \
            QVERIFY2(msg_.contains(part_), qPrintable("message '" + msg_ + "' lacks '" + part_ + "'"));  \
        QVERIFY2(!msg_.contains('\n'), qPrintable("message is not one line: " + msg_));                  \
    } while (0)

void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    QVERIFY(out.good());
}

std::vector<uint8_t> readBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> gzipBytes(const std::vector<uint8_t>& raw)
{
    z_stream zs{};
    deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 32);
    zs.next_in = const_cast<Bytef*>(raw.data());
    zs.avail_in = static_cast<uInt>(raw.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

// An uncompressed IDX file of uint8 elements with the given dimensions.
std::vector<uint8_t> idxBytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values)
{
    std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
    for (uint32_t d : dims) out.insert(out.end(), {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)});
    out.insert(out.end(), values.begin(), values.end());
    return out;
}

template <typename T>
Tensor tensorOf(Shape shape, std::vector<T> values)
{
    return Tensor::fromVector<T>(dataTypeOf<T>(), std::move(shape), values);
}

// Writes a [2,3] tensor holding T's extremes, reads it back, compares; false after a failed check.
template <typename T>
bool roundTrip(const std::string& path)
{
    using L = std::numeric_limits<T>;
    const Tensor t = tensorOf<T>({2, 3}, {L::lowest(), L::max(), T(0), T(1), T(L::is_signed ? -1 : 2), L::min()});
    writeNpy(path, t);
    const Tensor back = readNpy(path);
    [&] { QVERIFY2(back.sameContents(t), dataTypeName(t.dtype())); }();
    const std::vector<uint8_t> file = readBytes(path);
    [&] { QCOMPARE(file.size(), 128 + t.bytes()); }();   // magic, version, header padded to 128 bytes, data
    [&] { QCOMPARE(std::memcmp(file.data(), "\x93NUMPY\x01\x00", 8), 0); }();
    return !QTest::currentTestFailed();
}

} // namespace

class TestData : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> tmp_;   // a fresh one for every test
    std::string path(const char* name) const { return QDir(tmp_->path()).filePath(name).toStdString(); }
    QString tmpPath() const { return tmp_->path(); }

private slots:
    void initTestCase()
    {
        const std::string file = kFashionDir + "/t10k-images-idx3-ubyte.gz";
        QVERIFY2(QFile::exists(QString::fromStdString(file)),
                 (file + " is missing: apt-get install dataset-fashion-mnist, or point JOULE_DATA at the IDX files").c_str());
    }
    void init()
    {
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
    }
    void cleanup()
    {
        if (kOuterData.isEmpty()) qunsetenv("JOULE_DATA");
        else qputenv("JOULE_DATA", kOuterData);
        tmp_.reset();
    }

    // ---- Fashion-MNIST -------------------------------------------------------------------------

    void fashionMnistTestSetHas10000ImagesWith1000PerClass()
    {
        const LabeledImages ds = loadDataset("fashion-mnist:test");
        QCOMPARE(ds.images.dtype(), DataType::UInt8);
        QCOMPARE(ds.images.shape(), (Shape{10000, 28, 28, 1}));
        QCOMPARE(ds.labels.size(), size_t(10000));
        QCOMPARE(ds.labels[0], int64_t(9));
        QCOMPARE(ds.classNames.size(), size_t(10));
        QCOMPARE(ds.classNames[9], std::string("Ankle boot"));
        QCOMPARE(ds.classNames[0], std::string("T-shirt/top"));
        QCOMPARE(ds.source, std::string("fashion-mnist:test"));
        std::array<int, 10> histogram{};
        for (int64_t l : ds.labels) ++histogram[static_cast<size_t>(l)];
        for (int count : histogram) QCOMPARE(count, 1000);
        // Pixel facts of image 0 computed with NumPy from the same .gz files.
        const uint8_t* first = ds.images.data<uint8_t>();
        int64_t sum = 0;
        for (int i = 0; i < 28 * 28; ++i) sum += first[i];
        QCOMPARE(sum, int64_t(33456));
        const std::vector<int> row14 = {0, 0, 0, 0, 0, 0, 2, 4, 1, 0, 0, 0, 98, 136, 110, 109, 110, 162, 135, 144,
                                        149, 159, 167, 144, 158, 169, 119, 0};
        for (int x = 0; x < 28; ++x) QCOMPARE(int(first[14 * 28 + x]), row14[static_cast<size_t>(x)]);
    }

    void fashionMnistTrainSetHas60000ImagesWith6000PerClass()
    {
        const LabeledImages ds = loadDataset("fashion-mnist:train");
        QCOMPARE(ds.images.shape(), (Shape{60000, 28, 28, 1}));
        std::array<int, 10> histogram{};
        for (int64_t l : ds.labels) ++histogram[static_cast<size_t>(l)];
        for (int count : histogram) QCOMPARE(count, 6000);
        QCOMPARE(ds.labels[0], int64_t(9));
        QCOMPARE(ds.labels[3], int64_t(3));
    }

    void fashionMnistLoadAndPreprocessFullTestSet()
    {
        QElapsedTimer timer;
        timer.start();
        const LabeledImages ds = loadDataset("fashion-mnist:test");
        const qint64 loadMs = timer.elapsed();
        const Preprocessing prep;
        QCOMPARE(sampleShape(ds, prep), (Shape{1, 28, 28}));
        std::vector<float> batch(static_cast<size_t>(ds.size()) * 784);
        fillBatch(ds, prep, 0, ds.size(), batch.data());
        const qint64 totalMs = timer.elapsed();
        qInfo("fashion-mnist:test load %lld ms, load + preprocess (float32 [10000,1,28,28]) %lld ms", loadMs, totalMs);
        double sum = 0;
        for (float v : batch) sum += v;
        QVERIFY(std::abs(sum - 573469082.0 / 255) < 1.0);   // total pixel sum, from NumPy
        QVERIFY(std::abs(batch[14 * 28 + 12] - 98.0f / 255) < 1e-7f);
    }

    void fashionMnistReadsPlainIdxFromJouleData()
    {
        // $JOULE_DATA holds uncompressed files: three 2x2 images, labels 3 1 4.
        writeBytes(path("t10k-images-idx3-ubyte"), idxBytes({3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
        writeBytes(path("t10k-labels-idx1-ubyte"), idxBytes({3}, {3, 1, 4}));
        qputenv("JOULE_DATA", tmpPath().toLocal8Bit());
        const LabeledImages ds = loadDataset("fashion-mnist:test");
        QCOMPARE(ds.images.shape(), (Shape{3, 2, 2, 1}));
        QCOMPARE(ds.labels, (std::vector<int64_t>{3, 1, 4}));
        QCOMPARE(ds.images.data<uint8_t>()[5], uint8_t(6));
        QCOMPARE(ds.classNames[4], std::string("Coat"));
    }

    void fashionMnistLabelOutOfRangeNamesFile()
    {
        writeBytes(path("t10k-images-idx3-ubyte"), idxBytes({3, 2, 2}, std::vector<uint8_t>(12, 7)));
        writeBytes(path("t10k-labels-idx1-ubyte"), idxBytes({3}, {3, 10, 4}));
        qputenv("JOULE_DATA", tmpPath().toLocal8Bit());
        EXPECT_ERROR(loadDataset("fashion-mnist:test"), QString::fromStdString(path("t10k-labels-idx1-ubyte")),
                     "label 10 at index 1 is out of range");
    }

    void fashionMnistMissingFilesNamePathAndPackage()
    {
        qputenv("JOULE_DATA", tmpPath().toLocal8Bit());
        EXPECT_ERROR(loadDataset("fashion-mnist:train"), QString::fromStdString(path("train-images-idx3-ubyte.gz")),
                     "no such file", "dataset-fashion-mnist");
        EXPECT_ERROR(loadDataset("fashion-mnist:validation"), "unknown split 'validation'");
    }

    // ---- IDX -----------------------------------------------------------------------------------

    void idxCompressionIsDetectedByContentNotName()
    {
        // A plain file called .gz and a gzip file without the extension.
        writeBytes(path("images.gz"), idxBytes({2, 1, 3}, {10, 20, 30, 40, 50, 60}));
        writeBytes(path("labels.bin"), gzipBytes(idxBytes({2}, {1, 0})));
        const LabeledImages ds = loadDataset("idx:" + path("images.gz") + "," + path("labels.bin"));
        QCOMPARE(ds.images.shape(), (Shape{2, 1, 3, 1}));
        QCOMPARE(ds.images.data<uint8_t>()[4], uint8_t(50));
        QCOMPARE(ds.labels, (std::vector<int64_t>{1, 0}));
        QCOMPARE(ds.classNames, (std::vector<std::string>{"0", "1"}));
    }

    void idxReadsBigEndianWiderTypes()
    {
        // int32 [2]: 0x01020304, -2
        writeBytes(path("ints.idx"), {0, 0, 0x0C, 1, 0, 0, 0, 2, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE});
        const Tensor t = readIdx(path("ints.idx"));
        QCOMPARE(t.dtype(), DataType::Int32);
        QCOMPARE(t.data<int32_t>()[0], 0x01020304);
        QCOMPARE(t.data<int32_t>()[1], -2);
    }

    void idxWrongMagicNamesFileAndMagic()
    {
        writeBytes(path("bad.idx"), {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 5});
        EXPECT_ERROR(readIdx(path("bad.idx")), QString::fromStdString(path("bad.idx")) + ": not an IDX file (magic 0x12345678)");
        writeBytes(path("labels.idx"), idxBytes({1}, {0}));
        EXPECT_ERROR(loadDataset("idx:" + path("bad.idx") + "," + path("labels.idx")), "not an IDX file");
    }

    void gzipThatExpandsPastTheLimitIsRefusedNamingTheFile()
    {
        // 4 MiB of zeros compress to a few kilobytes; with a 1 MiB limit the stream is cut off early.
        const std::vector<uint8_t> gz = gzipBytes(std::vector<uint8_t>(size_t(4) << 20, 0));
        QVERIFY(gz.size() < 16384);
        EXPECT_ERROR(gunzip(gz, "bomb.gz", size_t(1) << 20), "bomb.gz: gzip data expands to more than 1048576 bytes");
        QCOMPARE(gunzip(gz, "bomb.gz", size_t(4) << 20).size(), size_t(4) << 20);   // exactly at the limit: accepted
    }

    void idxTruncatedGzipNamesFile()
    {
        std::vector<uint8_t> gz = readBytes(kFashionDir + "/t10k-labels-idx1-ubyte.gz");
        QVERIFY(gz.size() > 1000);
        gz.resize(gz.size() / 2);
        writeBytes(path("labels-cut.gz"), gz);
        EXPECT_ERROR(readIdx(path("labels-cut.gz")), QString::fromStdString(path("labels-cut.gz")) + ": truncated gzip stream");
        EXPECT_ERROR(loadDataset("idx:" + kFashionDir + "/t10k-images-idx3-ubyte.gz," + path("labels-cut.gz")),
                     QString::fromStdString(path("labels-cut.gz")) + ": truncated gzip stream");
    }

    void idxCountMismatchNamesBothFilesAndCounts()
    {
        const Tensor labels = readIdx(kFashionDir + "/t10k-labels-idx1-ubyte.gz");
        const std::vector<uint8_t> first9999(labels.data<uint8_t>(), labels.data<uint8_t>() + 9999);
        writeBytes(path("labels-9999"), idxBytes({9999}, first9999));
        const std::string images = kFashionDir + "/t10k-images-idx3-ubyte.gz";
        EXPECT_ERROR(loadDataset("idx:" + images + "," + path("labels-9999")), QString::fromStdString(images),
                     QString::fromStdString(path("labels-9999")), "images: 10000, labels: 9999");
    }

    void idxSizeAndKindProblemsNameFile()
    {
        writeBytes(path("short.idx"), idxBytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7}));
        EXPECT_ERROR(readIdx(path("short.idx")), QString::fromStdString(path("short.idx")), "IDX size mismatch",
                     "uint8 [2,2,2]", "7 data bytes");
        writeBytes(path("labels.idx"), idxBytes({2}, {0, 1}));
        EXPECT_ERROR(loadDataset("idx:" + path("labels.idx") + "," + path("labels.idx")),
                     QString::fromStdString(path("labels.idx")), "expected an IDX image file (magic 0x00000803)",
                     "found magic 0x00000801");
        EXPECT_ERROR(loadDataset("idx:" + path("missing.idx") + "," + path("labels.idx")),
                     QString::fromStdString(path("missing.idx")) + ": no such file");
    }

    // ---- NPY / NPZ -----------------------------------------------------------------------------

    void npyRoundTripsEveryDtype()
    {
        QVERIFY(roundTrip<float>(path("f32.npy")));
        QVERIFY(roundTrip<double>(path("f64.npy")));
        QVERIFY(roundTrip<int8_t>(path("i8.npy")));
        QVERIFY(roundTrip<uint8_t>(path("u8.npy")));
        QVERIFY(roundTrip<int16_t>(path("i16.npy")));
        QVERIFY(roundTrip<int32_t>(path("i32.npy")));
        QVERIFY(roundTrip<int64_t>(path("i64.npy")));
        QVERIFY(roundTrip<uint16_t>(path("u16.npy")));
        QVERIFY(roundTrip<uint32_t>(path("u32.npy")));
        QVERIFY(roundTrip<uint64_t>(path("u64.npy")));
        const Tensor flags = tensorOf<bool>({4}, {true, false, false, true});
        writeNpy(path("b.npy"), flags);
        QVERIFY(readNpy(path("b.npy")).sameContents(flags));
        // Scalars and empty arrays keep their shapes.
        const Tensor scalar = tensorOf<float>({}, {2.5f});
        writeNpy(path("scalar.npy"), scalar);
        QVERIFY(readNpy(path("scalar.npy")).sameContents(scalar));
        const Tensor empty(DataType::Int32, {0, 3});
        writeNpy(path("empty.npy"), empty);
        QCOMPARE(readNpy(path("empty.npy")).shape(), (Shape{0, 3}));
    }

    void npyReadsFilesWrittenByNumpy()
    {
        const Tensor f = readNpy(fixture("np_float32_v1.npy"));
        QCOMPARE(f.dtype(), DataType::Float32);
        QCOMPARE(f.shape(), (Shape{2, 3}));
        for (int i = 0; i < 6; ++i) QCOMPARE(f.data<float>()[i], i * 0.5f - 1);
        const Tensor s = readNpy(fixture("np_int16_v2.npy"));   // format 2.0
        QCOMPARE(s.toInt64Vector(), (std::vector<int64_t>{-3, -2, 0, 7, 300}));
        const Tensor u = readNpy(fixture("np_uint8_v3.npy"));   // format 3.0
        QCOMPARE(u.shape(), (Shape{2, 2, 2}));
        QCOMPARE(u.toInt64Vector(), (std::vector<int64_t>{0, 30, 60, 90, 120, 150, 180, 210}));
        const Tensor b = readNpy(fixture("np_bool.npy"));
        QCOMPARE(b.dtype(), DataType::Bool);
        QCOMPARE(b.toInt64Vector(), (std::vector<int64_t>{1, 0, 1}));
        const Tensor scalar = readNpy(fixture("np_int64_scalar.npy"));
        QCOMPARE(scalar.shape(), Shape{});
        QCOMPARE(scalar.data<int64_t>()[0], int64_t(-42));
    }

    void npyWriteMatchesNumpyByteForByte()
    {
        const Tensor a = readNpy(fixture("np_float32_v1.npy"));
        writeNpy(path("mine.npy"), a);
        QCOMPARE(readBytes(path("mine.npy")), readBytes(fixture("np_float32_v1.npy")));
    }

    void npyWriteIsAtomic()
    {
        writeNpy(path("out.npy"), tensorOf<int32_t>({2}, {1, 2}));
        writeNpy(path("out.npy"), tensorOf<int32_t>({3}, {7, 8, 9}));   // replaces the old file
        QCOMPARE(readNpy(path("out.npy")).toInt64Vector(), (std::vector<int64_t>{7, 8, 9}));
        QCOMPARE(QDir(tmpPath()).entryList(QDir::Files), QStringList{"out.npy"});   // no temporary left
        const std::string nowhere = path("no-such-dir/out.npy");
        EXPECT_ERROR(writeNpy(nowhere, tensorOf<int32_t>({1}, {1})), QString::fromStdString(nowhere), "cannot write");
        EXPECT_ERROR(writeNpy(path("q.npy"), Tensor(DataType::Int4, {4})), "q.npy: cannot store int4");
        QCOMPARE(QDir(tmpPath()).entryList(QDir::Files), QStringList{"out.npy"});
    }

    void npyRejectsFortranOrderBigEndianAndObjects()
    {
        EXPECT_ERROR(readNpy(fixture("fortran.npy")),
                     "fortran.npy: header field 'fortran_order' is True; only C order is supported");
        EXPECT_ERROR(readNpy(fixture("big_endian.npy")), "big_endian.npy: header field 'descr' is '>i4'", "big-endian");
        EXPECT_ERROR(readNpy(fixture("object.npy")), "object.npy: header field 'descr' is '|O'", "Python objects");
    }

    void npyRejectsTruncatedAndNonNpyFiles()
    {
        std::vector<uint8_t> bytes = readBytes(fixture("np_float32_v1.npy"));
        bytes.resize(bytes.size() - 3);
        writeBytes(path("cut.npy"), bytes);
        EXPECT_ERROR(readNpy(path("cut.npy")), QString::fromStdString(path("cut.npy")) + ": data truncated",
                     "'shape' is (2, 3)", "21 data bytes");
        writeBytes(path("text.npy"), {'h', 'e', 'l', 'l', 'o', '\n', 0, 0});
        EXPECT_ERROR(readNpy(path("text.npy")), QString::fromStdString(path("text.npy")) + ": not an NPY file");
        EXPECT_ERROR(readNpy(path("absent.npy")), QString::fromStdString(path("absent.npy")) + ": no such file");
    }

    void npzReadsStoredAndDeflatedMembers()
    {
        const auto arrays = readNpz(fixture("mixed.npz"));   // stored.npy (method 0), deflated.npy (method 8)
        QCOMPARE(arrays.size(), size_t(2));
        QCOMPARE(arrays.at("stored").toInt64Vector(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
        const Tensor& d = arrays.at("deflated");
        QCOMPARE(d.dtype(), DataType::Float64);
        QCOMPARE(d.shape(), (Shape{16, 16}));
        for (double v : d.values<double>()) QCOMPARE(v, 1.5);
        // np.savez_compressed writes zip64 local headers.
        const auto saved = readNpz(fixture("savez_compressed.npz"));
        QVERIFY(saved.at("x").sameContents(readNpy(fixture("np_float32_v1.npy"))));
        QCOMPARE(saved.at("y").toInt64Vector(), (std::vector<int64_t>{3, 1, 2}));
    }

    void npzCorruptMemberNamesArchiveAndMember()
    {
        std::vector<uint8_t> bytes = readBytes(fixture("mixed.npz"));
        // The stored member's data begins after its local header (30 bytes + "stored.npy") and 128-byte NPY header.
        bytes[30 + 10 + 128] ^= 0xFF;
        writeBytes(path("corrupt.npz"), bytes);
        EXPECT_ERROR(readNpz(path("corrupt.npz")), QString::fromStdString(path("corrupt.npz")) + ": member 'stored.npy'",
                     "CRC-32");
        EXPECT_ERROR(readNpz(fixture("np_bool.npy")), "np_bool.npy: not a zip archive");
    }

    // ---- npy: dataset spec ---------------------------------------------------------------------

    void npyDatasetOfUint8ImagesAndIntegerLabels()
    {
        writeNpy(path("x.npy"), tensorOf<uint8_t>({3, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
        writeNpy(path("y.npy"), tensorOf<int32_t>({3}, {2, 0, 2}));
        const LabeledImages ds = loadDataset("npy:" + path("x.npy") + "," + path("y.npy"));
        QCOMPARE(ds.images.shape(), (Shape{3, 2, 2, 1}));
        QCOMPARE(ds.labels, (std::vector<int64_t>{2, 0, 2}));
        QCOMPARE(ds.classNames, (std::vector<std::string>{"0", "1", "2"}));
        Preprocessing prep;
        prep.scale = 1;
        std::vector<float> out(4);
        fillBatch(ds, prep, 2, 1, out.data());
        QCOMPARE(out, (std::vector<float>{8, 9, 10, 11}));
    }

    void npyDatasetChannelsFirstUint8IsTransposed()
    {
        // [1,3,1,2] (N,C,H,W): channel planes {1,2}, {3,4}, {5,6}
        writeNpy(path("x.npy"), tensorOf<uint8_t>({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6}));
        writeNpy(path("y.npy"), tensorOf<int64_t>({1}, {0}));
        const LabeledImages ds = loadDataset("npy:" + path("x.npy") + "," + path("y.npy"));
        QCOMPARE(ds.images.shape(), (Shape{1, 1, 2, 3}));
        QCOMPARE(ds.images.toInt64Vector(), (std::vector<int64_t>{1, 3, 5, 2, 4, 6}));
    }

    void npyDatasetOfFloatSamplesIsCopiedAsIs()
    {
        writeNpy(path("x.npy"), tensorOf<double>({2, 3}, {0.5, -1, 2, 3, 4, 5}));
        writeNpy(path("y.npy"), tensorOf<uint8_t>({2}, {1, 0}));
        const LabeledImages ds = loadDataset("npy:" + path("x.npy") + "," + path("y.npy"));
        QCOMPARE(ds.images.dtype(), DataType::Float32);
        const Preprocessing prep;   // scale 1/255 does not apply to float samples
        QCOMPARE(sampleShape(ds, prep), (Shape{3}));
        std::vector<float> out(6);
        fillBatch(ds, prep, 0, 2, out.data());
        QCOMPARE(out, (std::vector<float>{0.5f, -1, 2, 3, 4, 5}));
        // float16 samples (bits 0x3C00 = 1, 0xC000 = -2) become float32.
        writeNpy(path("x.npy"), Tensor::fromVector<uint16_t>(DataType::Float16, {2, 1}, {0x3C00, 0xC000}));
        fillBatch(loadDataset("npy:" + path("x.npy") + "," + path("y.npy")), prep, 0, 2, out.data());
        QCOMPARE(out[0], 1.0f);
        QCOMPARE(out[1], -2.0f);
    }

    void npyLabelProblemsNameFile()
    {
        writeNpy(path("x.npy"), Tensor(DataType::UInt8, {4, 2, 2}));
        const std::string spec = "npy:" + path("x.npy") + "," + path("y.npy");
        writeNpy(path("y.npy"), Tensor(DataType::Int64, {4, 1}));
        EXPECT_ERROR(loadDataset(spec), QString::fromStdString(path("y.npy")) + ": labels must be a 1-D array, found shape [4,1]");
        writeNpy(path("y.npy"), Tensor(DataType::Float32, {4}));
        EXPECT_ERROR(loadDataset(spec), QString::fromStdString(path("y.npy")) + ": labels must be integers, found float32");
        writeNpy(path("y.npy"), tensorOf<int64_t>({4}, {0, 1, -1, 0}));
        EXPECT_ERROR(loadDataset(spec), QString::fromStdString(path("y.npy")) + ": label -1 at index 2 is out of range");
        writeNpy(path("y.npy"), Tensor(DataType::Int64, {3}));
        EXPECT_ERROR(loadDataset(spec), QString::fromStdString(path("x.npy")), "images: 4, labels: 3");
        writeNpy(path("y.npy"), Tensor(DataType::Int64, {4}));
        writeNpy(path("x.npy"), Tensor(DataType::UInt8, {4, 8}));
        EXPECT_ERROR(loadDataset(spec), QString::fromStdString(path("x.npy")) + ": uint8 images must be [N,H,W] or [N,H,W,C]");
    }

    // ---- image folders -------------------------------------------------------------------------

    void imageFolderReadsPngsPerClassInSortedOrder()
    {
        QDir root(tmpPath());
        QVERIFY(root.mkpath("folder/shirt") && root.mkpath("folder/boot"));
        const uint8_t a[6] = {0, 50, 100, 150, 200, 250}, b[6] = {1, 2, 3, 4, 5, 6}, c[6] = {9, 9, 9, 9, 9, 9};
        QVERIFY(stbi_write_png(path("folder/shirt/x.png").c_str(), 3, 2, 1, a, 3));
        QVERIFY(stbi_write_png(path("folder/boot/2.png").c_str(), 3, 2, 1, b, 3));
        QVERIFY(stbi_write_png(path("folder/boot/1.data").c_str(), 3, 2, 1, c, 3));   // PNG by content
        writeBytes(path("folder/boot/README.txt"), {'n', 'o', 't', 'e'});             // not an image: skipped
        const LabeledImages ds = loadDataset("folder:" + path("folder"));
        QCOMPARE(ds.classNames, (std::vector<std::string>{"boot", "shirt"}));
        QCOMPARE(ds.images.shape(), (Shape{3, 2, 3, 1}));
        QCOMPARE(ds.labels, (std::vector<int64_t>{0, 0, 1}));
        const uint8_t* p = ds.images.data<uint8_t>();
        QCOMPARE(std::vector<uint8_t>(p, p + 6), std::vector<uint8_t>(c, c + 6));       // boot/1.data
        QCOMPARE(std::vector<uint8_t>(p + 6, p + 12), std::vector<uint8_t>(b, b + 6));  // boot/2.png
        QCOMPARE(std::vector<uint8_t>(p + 12, p + 18), std::vector<uint8_t>(a, a + 6)); // shirt/x.png
    }

    void imageFolderMixesGreyRgbAndJpegAsRgb()
    {
        QDir root(tmpPath());
        QVERIFY(root.mkpath("rgb/a") && root.mkpath("rgb/b"));
        const uint8_t grey[4] = {10, 20, 30, 40};
        const uint8_t rgba[16] = {255, 0, 0, 7, 0, 255, 0, 7, 0, 0, 255, 7, 1, 2, 3, 7};
        std::vector<uint8_t> flat(8 * 8 * 3);
        for (size_t i = 0; i < flat.size(); i += 3) flat[i] = 200, flat[i + 1] = 100, flat[i + 2] = 50;
        QVERIFY(stbi_write_png(path("rgb/a/grey.png").c_str(), 2, 2, 1, grey, 2));
        QVERIFY(stbi_write_png(path("rgb/a/rgba.png").c_str(), 2, 2, 4, rgba, 8));
        QVERIFY(stbi_write_jpg(path("rgb/b/photo.jpg").c_str(), 8, 8, 3, flat.data(), 100));
        Preprocessing prep;
        prep.resizeHeight = 2;
        prep.resizeWidth = 2;   // the 8x8 JPEG is resized while loading
        const LabeledImages ds = loadDataset("folder:" + path("rgb"), prep);
        QCOMPARE(ds.images.shape(), (Shape{3, 2, 2, 3}));
        const uint8_t* p = ds.images.data<uint8_t>();
        QCOMPARE(std::vector<int>(p, p + 6), (std::vector<int>{10, 10, 10, 20, 20, 20}));            // grey replicated
        QCOMPARE(std::vector<int>(p + 12, p + 18), (std::vector<int>{255, 0, 0, 0, 255, 0}));        // alpha dropped
        for (int i = 0; i < 4; ++i) {
            QVERIFY(std::abs(p[24 + 3 * i] - 200) <= 3);
            QVERIFY(std::abs(p[24 + 3 * i + 1] - 100) <= 3);
            QVERIFY(std::abs(p[24 + 3 * i + 2] - 50) <= 3);
        }
    }

    void imageFolderWithDifferentSizesNamesFileUnlessResized()
    {
        QDir root(tmpPath());
        QVERIFY(root.mkpath("sizes/a"));
        const std::vector<uint8_t> pixels(4 * 4, 128);
        QVERIFY(stbi_write_png(path("sizes/a/1.png").c_str(), 4, 4, 1, pixels.data(), 4));
        QVERIFY(stbi_write_png(path("sizes/a/2.png").c_str(), 2, 3, 1, pixels.data(), 2));
        EXPECT_ERROR(loadDataset("folder:" + path("sizes")), QString::fromStdString(path("sizes/a/2.png")) + ": image is 2x3",
                     QString::fromStdString(path("sizes/a/1.png")) + " is 4x4");
        const LabeledImages ds = readImageFolder(path("sizes"), 5, 6);
        QCOMPARE(ds.images.shape(), (Shape{2, 5, 6, 1}));
        for (uint8_t v : ds.images.values<uint8_t>()) QCOMPARE(int(v), 128);   // a flat image stays flat
    }

    void imageFolderEmptyOrMissingNamesDirectory()
    {
        QDir root(tmpPath());
        QVERIFY(root.mkpath("empty/cats") && root.mkpath("empty/dogs"));
        writeBytes(path("empty/dogs/list.txt"), {'x'});
        EXPECT_ERROR(loadDataset("folder:" + path("empty")),
                     QString::fromStdString(path("empty")) +
                         ": no images found (expected one sub-folder per class with PNG or JPEG files)");
        EXPECT_ERROR(loadDataset("folder:" + path("nowhere")), QString::fromStdString(path("nowhere")) + ": no such directory");
        QVERIFY(root.mkpath("broken/a"));
        writeBytes(path("broken/a/bad.png"), {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0});
        EXPECT_ERROR(loadDataset("folder:" + path("broken")), QString::fromStdString(path("broken/a/bad.png")) + ": cannot decode PNG");
    }

    // ---- preprocessing -------------------------------------------------------------------------

    void preprocessingAppliesScaleMeanStdPerChannelInBothLayouts()
    {
        // One 1x2 RGB image: pixels (255, 0, 51) and (0, 255, 102).
        writeNpy(path("x.npy"), tensorOf<uint8_t>({1, 1, 2, 3}, {255, 0, 51, 0, 255, 102}));
        writeNpy(path("y.npy"), tensorOf<int64_t>({1}, {0}));
        const LabeledImages ds = loadDataset("npy:" + path("x.npy") + "," + path("y.npy"));
        Preprocessing prep;
        prep.mean = {0.5f, 0.25f, 0.0f};
        prep.std = {0.5f, 0.25f, 2.0f};
        QCOMPARE(sampleShape(ds, prep), (Shape{3, 1, 2}));
        std::vector<float> nchw(6), nhwc(6);
        fillBatch(ds, prep, 0, 1, nchw.data());
        const std::vector<float> expectedNchw = {1, -1, -1, 3, 0.1f, 0.2f};
        for (size_t i = 0; i < 6; ++i) QVERIFY2(std::abs(nchw[i] - expectedNchw[i]) < 1e-6f, qPrintable(QString::number(i)));
        prep.layout = Preprocessing::Layout::NHWC;
        QCOMPARE(sampleShape(ds, prep), (Shape{1, 2, 3}));
        fillBatch(ds, prep, 0, 1, nhwc.data());
        const std::vector<float> expectedNhwc = {1, -1, 0.1f, -1, 3, 0.2f};
        for (size_t i = 0; i < 6; ++i) QVERIFY2(std::abs(nhwc[i] - expectedNhwc[i]) < 1e-6f, qPrintable(QString::number(i)));
        prep.mean = {0.5f, 0.5f};
        EXPECT_ERROR(fillBatch(ds, prep, 0, 1, nhwc.data()), "mean has 2 values but the images have 3 channel");
    }

    void preprocessingResizesBilinearWithHalfPixelCentres()
    {
        // [0 255] upsampled to 4 columns: 0, 63.75, 191.25, 255 (PyTorch, align_corners=False).
        writeNpy(path("x.npy"), tensorOf<uint8_t>({1, 1, 2}, {0, 255}));
        writeNpy(path("y.npy"), tensorOf<int64_t>({1}, {0}));
        const LabeledImages ds = loadDataset("npy:" + path("x.npy") + "," + path("y.npy"));
        Preprocessing prep;
        prep.scale = 1;
        prep.resizeHeight = 2;
        prep.resizeWidth = 4;
        QCOMPARE(sampleShape(ds, prep), (Shape{1, 2, 4}));
        std::vector<float> out(8);
        fillBatch(ds, prep, 0, 1, out.data());
        QCOMPARE(out, (std::vector<float>{0, 63.75f, 191.25f, 255, 0, 63.75f, 191.25f, 255}));
    }

    void fillBatchRejectsRangeOutsideDataset()
    {
        writeNpy(path("x.npy"), Tensor(DataType::UInt8, {2, 2, 2}));
        writeNpy(path("y.npy"), Tensor(DataType::Int64, {2}));
        const LabeledImages ds = loadDataset("npy:" + path("x.npy") + "," + path("y.npy"));
        std::vector<float> out(16);
        EXPECT_ERROR(fillBatch(ds, Preprocessing{}, 1, 2, out.data()), "batch [1, 3) is outside the dataset's 2 samples");
    }

    // ---- specs ---------------------------------------------------------------------------------

    void unknownOrMalformedSpecIsRejected()
    {
        EXPECT_ERROR(loadDataset("mnist:train"), "unknown dataset spec 'mnist:train'", "fashion-mnist:train|test");
        EXPECT_ERROR(loadDataset("data.npy"), "unknown dataset spec 'data.npy'");
        EXPECT_ERROR(loadDataset("idx:only-one-file"), "dataset spec 'idx:only-one-file': expected idx:IMAGES,LABELS");
    }
};

QTEST_APPLESS_MAIN(TestData)
#include "tst_data.moc"
