#pragma once
// The one exception type of the data layer (NPY/NPZ, IDX, image folders, dataset specs).
//
//   try { auto ds = joule::data::loadDataset("idx:imgs.gz,labels.gz"); }
//   catch (const joule::data::DataError& e) { std::cerr << e.what() << '\n'; }
//   // "labels.gz: truncated gzip stream"
//
// what() is a single line that starts with the file (or directory, or spec) at fault and says
// what is wrong with it, ready to show to the user as is.

#include <stdexcept>
#include <string>

namespace joule::data {

class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace joule::data
