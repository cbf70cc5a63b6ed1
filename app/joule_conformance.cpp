// joule-conformance: runs the ONNX backend test cases under the given directories through the Joule
// runtime and compares with the expected outputs (rtol 1e-3, atol 1e-7, as the ONNX backend tests).
// Each case runs in a child process, so a crash or a hang fails that case only.

#include "help_text.h"
#include "onnx/onnx_io.h"
#include "runtime/session.h"

#include <QCoreApplication>
#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

namespace fs = std::filesystem;
using namespace joule;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;
constexpr unsigned kCaseTimeoutSeconds = 120;

struct CaseResult {
    std::string name;
    std::string status;   // passed | failed | unsupported
    std::string detail;
};

std::vector<fs::path> findCases(const fs::path& root)
{
    std::vector<fs::path> cases;
    std::error_code ec;
    if (fs::exists(root / "model.onnx", ec)) return {root};
    for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_directory(ec) && fs::exists(it->path() / "model.onnx", ec)) {
            cases.push_back(it->path());
            it.disable_recursion_pending();
        }
    }
    std::sort(cases.begin(), cases.end());
    return cases;
}

std::vector<fs::path> sortedFiles(const fs::path& dir, const std::string& prefix)
{
    std::vector<std::pair<int, fs::path>> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(prefix, 0) == 0 && e.path().extension() == ".pb")
            files.emplace_back(std::stoi(n.substr(prefix.size())), e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<fs::path> out;
    for (auto& f : files) out.push_back(f.second);
    return out;
}

// Empty string when equal within tolerance, else a description of the first mismatch.
std::string compare(const std::string& name, const Tensor& expected, const Tensor& actual)
{
    if (expected.dtype() != actual.dtype())
        return "output '" + name + "': type " + dataTypeName(actual.dtype()) + ", expected " + dataTypeName(expected.dtype());
    if (expected.shape() != actual.shape())
        return "output '" + name + "': shape " + shapeToString(actual.shape()) + ", expected " + shapeToString(expected.shape());
    if (expected.dtype() == DataType::String) {
        for (int64_t i = 0; i < expected.numel(); ++i)
            if (expected.data<std::string>()[i] != actual.data<std::string>()[i])
                return "output '" + name + "'[" + std::to_string(i) + "] = '" + actual.data<std::string>()[i] +
                       "', expected '" + expected.data<std::string>()[i] + "'";
        return {};
    }
    const bool exact = !isFloating(expected.dtype());
    for (int64_t i = 0; i < expected.numel(); ++i) {
        const double e = expected.asDouble(i), a = actual.asDouble(i);
        bool ok;
        if (exact) ok = expected.asInt64(i) == actual.asInt64(i) && e == a;
        else if (std::isnan(e)) ok = std::isnan(a);
        else if (std::isinf(e)) ok = a == e;
        else ok = std::fabs(a - e) <= kAtol + kRtol * std::fabs(e);
        if (!ok) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "output '%s'[%lld] = %.9g, expected %.9g", name.c_str(),
                          static_cast<long long>(i), a, e);
            return buf;
        }
    }
    return {};
}

// compare() for sequences and optionals, element by element.
std::string compareValue(const std::string& name, const Value& expected, const Value& actual)
{
    if (expected.kind == ValueKind::Tensor && actual.kind == ValueKind::Tensor) return compare(name, expected.tensor, actual.tensor);
    if (expected.kind != actual.kind || expected.elements.size() != actual.elements.size())
        return "output '" + name + "': " + actual.describe() + ", expected " + expected.describe();
    for (size_t i = 0; i < expected.elements.size(); ++i) {
        std::string diff = compareValue(name + "{" + std::to_string(i) + "}", expected.elements[i], actual.elements[i]);
        if (!diff.empty()) return diff;
    }
    return {};
}

// The suite stores bfloat16 tensors as uint16 bit patterns (a quirk of the ONNX test generator):
// reinterpret them as the declared bfloat16.
Tensor asDeclared(Tensor t, const ValueInfo* decl)
{
    if (decl && decl->dtype == DataType::BFloat16 && t.dtype() == DataType::UInt16)
        return Tensor::view(DataType::BFloat16, t.shape(), t.raw()).clone();
    return t;
}

const ValueInfo* findValue(const std::vector<ValueInfo>& values, const std::string& name)
{
    for (const auto& v : values) if (v.name == name) return &v;
    return nullptr;
}

// --channels-last: run the cases as `joule run` does, with the channels-last pass (oneDNN).
bool gChannelsLast = false;

CaseResult runCase(const fs::path& dir)
{
    CaseResult r{dir.filename().string(), "passed", ""};
    Graph graph;
    try {
        graph = onnx::loadModel((dir / "model.onnx").string());
    } catch (const onnx::UnsupportedFeature& e) {
        return {r.name, "unsupported", e.what()};
    }
    rt::Session session(graph, {.channelsLast = gChannelsLast});
    const auto required = graph.requiredInputs();
    int sets = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_directory() || e.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
        ++sets;
        std::map<std::string, Value> feeds;
        const auto inputs = sortedFiles(e.path(), "input_");
        for (size_t i = 0; i < inputs.size(); ++i) {
            std::string protoName;
            // Sequences and optionals are read by the declared type of the input at this position.
            const ValueInfo* byPosition = i < required.size() ? &required[i] : nullptr;
            if (byPosition && !byPosition->containers.empty()) {
                Value v = onnx::loadValueProto(inputs[i].string(), *byPosition, &protoName);
                feeds[graph.isGraphInput(protoName) ? protoName : byPosition->name] = std::move(v);
                continue;
            }
            Tensor t = onnx::loadTensorProto(inputs[i].string(), &protoName);
            std::string name = graph.isGraphInput(protoName) ? protoName
                               : (byPosition ? byPosition->name : std::string());
            if (name.empty()) throw std::runtime_error(inputs[i].filename().string() + " matches no graph input");
            feeds[name] = Value::fromTensor(asDeclared(t, findValue(graph.inputs(), name)));
        }
        auto outputs = session.runValues(feeds);
        const auto expected = sortedFiles(e.path(), "output_");
        for (size_t j = 0; j < expected.size(); ++j) {
            const ValueInfo* byPosition = j < graph.outputs().size() ? &graph.outputs()[j] : nullptr;
            std::string protoName;
            Value v;
            if (byPosition && !byPosition->containers.empty())
                v = onnx::loadValueProto(expected[j].string(), *byPosition, &protoName);
            else
                v = Value::fromTensor(onnx::loadTensorProto(expected[j].string(), &protoName));
            std::string name = outputs.count(protoName) ? protoName : (byPosition ? byPosition->name : std::string());
            auto it = outputs.find(name);
            if (it == outputs.end()) return {r.name, "failed", "no output '" + name + "'"};
            if (v.kind == ValueKind::Tensor) v.tensor = asDeclared(v.tensor, findValue(graph.outputs(), name));
            std::string diff = compareValue(name, v, it->second);
            if (!diff.empty()) return {r.name, "failed", e.path().filename().string() + ": " + diff};
        }
    }
    if (sets == 0) return {r.name, "failed", "no test_data_set_* directories"};
    return r;
}

CaseResult runCaseCatching(const fs::path& dir)
{
    try {
        return runCase(dir);
    } catch (const rt::UnsupportedError& e) {
        return {dir.filename().string(), "unsupported", e.what()};
    } catch (const onnx::UnsupportedFeature& e) {
        return {dir.filename().string(), "unsupported", e.what()};
    } catch (const std::exception& e) {
        return {dir.filename().string(), "failed", e.what()};
    }
}

// Runs the case in a child process; a crash or timeout is a failure of that case only.
CaseResult runIsolated(const fs::path& dir)
{
    int fds[2];
    if (pipe(fds) != 0) return runCaseCatching(dir);
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(kCaseTimeoutSeconds);
        CaseResult r = runCaseCatching(dir);
        std::string msg = r.status + "\n" + r.detail;
        size_t off = 0;
        while (off < msg.size()) {
            ssize_t n = write(fds[1], msg.data() + off, msg.size() - off);
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CaseResult r{dir.filename().string(), "failed", ""};
    if (WIFSIGNALED(status)) {
        r.detail = WTERMSIG(status) == SIGALRM ? "timed out after " + std::to_string(kCaseTimeoutSeconds) + " s"
                                               : std::string("crashed with signal ") + strsignal(WTERMSIG(status));
        return r;
    }
    const auto nl = msg.find('\n');
    if (nl == std::string::npos) {
        r.detail = "the case process exited without a result";
        return r;
    }
    r.status = msg.substr(0, nl);
    r.detail = msg.substr(nl + 1);
    return r;
}

std::set<std::string> readList(const std::string& path)
{
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open the expected-pass list");
    std::set<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        names.insert(line);
    }
    return names;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("joule-conformance");
    QCoreApplication::setApplicationVersion(JOULE_VERSION);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Runs ONNX backend test cases (model.onnx + test_data_set_*/input_*.pb, output_*.pb) found under the given "
        "directories and compares outputs with rtol 1e-3, atol 1e-7.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("DIR", "Directories holding test cases.", "DIR...");
    parser.addOption({"json", "Print one JSON document on stdout."});
    parser.addOption({"expect", "Fail (exit 1) if a case listed in FILE does not pass; report cases that pass but are not "
                                "listed. Repeatable.", "FILE"});
    parser.addOption({"min-pass-rate", "Fail (exit 1) if fewer than this fraction of the cases pass.", "F"});
    parser.addOption({"write-passing", "Write the names of the passing cases to FILE (sorted, atomic).", "FILE"});
    parser.addOption({"filter", "Only cases whose name contains TEXT.", "TEXT"});
    parser.addOption({"channels-last", "Run float32 convolutions channels-last through oneDNN, as joule run does "
                                       "(the same as without it in a build without oneDNN)."});
    if (joule::app::helpAsked(app.arguments())) {
        std::cout << joule::app::helpText(parser, "joule-conformance").toStdString();
        return 0;
    }
    parser.process(app);

    const QStringList dirs = parser.positionalArguments();
    if (dirs.isEmpty()) {
        std::cerr << "joule-conformance: give at least one directory of test cases\n";
        return 1;
    }
    std::vector<fs::path> cases;
    for (const QString& d : dirs) {
        const fs::path root = d.toStdString();
        if (!fs::is_directory(root)) {
            std::cerr << "joule-conformance: " << root.string() << ": not a directory\n";
            return 1;
        }
        auto found = findCases(root);
        cases.insert(cases.end(), found.begin(), found.end());
    }
    const std::string filter = parser.value("filter").toStdString();
    gChannelsLast = parser.isSet("channels-last");

    const bool json = parser.isSet("json");
    std::vector<CaseResult> results;
    int passed = 0, failed = 0, unsupported = 0;
    for (const auto& dir : cases) {
        if (!filter.empty() && dir.filename().string().find(filter) == std::string::npos) continue;
        CaseResult r = runIsolated(dir);
        if (r.status == "passed") ++passed;
        else if (r.status == "unsupported") ++unsupported;
        else ++failed;
        if (!json) std::cout << r.status << "  " << r.name << (r.detail.empty() ? "" : "  -- " + r.detail) << "\n";
        results.push_back(std::move(r));
    }

    int exitCode = 0;
    if (parser.isSet("expect")) {
        std::set<std::string> expected;
        try {
            for (const QString& file : parser.values("expect")) expected.merge(readList(file.toStdString()));
        } catch (const std::exception& e) {
            std::cerr << "joule-conformance: " << e.what() << "\n";
            return 1;
        }
        std::set<std::string> seen;
        for (const auto& r : results) {
            seen.insert(r.name);
            if (expected.count(r.name) && r.status != "passed") {
                std::cerr << "REGRESSION: " << r.name << " was expected to pass: " << r.status << " -- " << r.detail << "\n";
                exitCode = 1;
            } else if (!expected.count(r.name) && r.status == "passed") {
                std::cerr << "newly passing (add it to the expected list): " << r.name << "\n";
            }
        }
        for (const auto& name : expected)
            if (!seen.count(name)) {
                std::cerr << "REGRESSION: expected case " << name << " was not found\n";
                exitCode = 1;
            }
    }
    if (parser.isSet("min-pass-rate")) {
        bool ok = false;
        const double minRate = parser.value("min-pass-rate").toDouble(&ok);
        if (!ok || minRate < 0 || minRate > 1) {
            std::cerr << "joule-conformance: --min-pass-rate must be a fraction in [0,1]\n";
            return 1;
        }
        const double rate = results.empty() ? 0.0 : static_cast<double>(passed) / static_cast<double>(results.size());
        if (rate < minRate) {
            std::cerr << "pass rate " << rate << " is below the required " << minRate << "\n";
            exitCode = 1;
        }
    }
    if (parser.isSet("write-passing")) {
        const std::string path = parser.value("write-passing").toStdString();
        const std::string tmp = path + ".tmp";
        {
            std::ofstream out(tmp);
            for (const auto& r : results)
                if (r.status == "passed") out << r.name << "\n";
        }
        fs::rename(tmp, path);
    }

    if (json) {
        QJsonArray arr;
        for (const auto& r : results)
            arr.append(QJsonObject{{"name", QString::fromStdString(r.name)}, {"status", QString::fromStdString(r.status)},
                                   {"detail", QString::fromStdString(r.detail)}});
        QJsonObject doc{{"total", static_cast<int>(results.size())}, {"passed", passed}, {"failed", failed},
                        {"unsupported", unsupported}, {"cases", arr}};
        std::cout << QJsonDocument(doc).toJson(QJsonDocument::Compact).toStdString() << "\n";
    } else {
        std::cout << "conformance: total " << results.size() << ", passed " << passed << ", failed " << failed
                  << ", unsupported " << unsupported << "\n";
    }
    return exitCode;
}
