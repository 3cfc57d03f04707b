# Strata: the two entry points a newcomer needs.
#   make demo   install missing Debian packages, build, run the 3-replica demo
#   make test   install missing Debian packages, build, run every test
BUILD ?= build
JOBS  ?= $(shell nproc)
PACKAGES := build-essential cmake pkg-config libzmq3-dev libmsgpack-dev \
            librocksdb-dev check libsodium-dev libcyaml-dev libmicrohttpd-dev \
            iproute2 nftables procps python3 fiu-utils

.PHONY: all deps build demo test clean fuzz

all: build

deps:
	@scripts/install-deps.sh $(PACKAGES)

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/strata demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

clean:
	rm -rf $(BUILD)
