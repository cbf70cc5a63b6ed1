# Joule Studio entry points. Each target first installs missing Debian packages (root / sudo).
#   make build   install what is missing, configure and build into build/ (Release)
#   make demo    build, then run the main job
#   make test    build, then run every test (ctest)
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build demo test clean

deps:
	bash packaging/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j$(JOBS)

demo: build
	bash packaging/demo.sh $(BUILD_DIR)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD_DIR)
