# codesim - one non-recursive Makefile.
#   make demo      install what is missing, build, run the default job
#   make test      install what is missing, build, run the Check suites
#   make bench     speed and memory benchmarks
#   make validate  predicted vs published measurements
#   make asan      the test suite under AddressSanitizer + UBSan

DEBIAN_PKGS := libsystemc-dev libconfig-dev libgsl-dev libsqlite3-dev check pkg-config
OPTIONAL_PKGS := gnuplot-nox

CC  ?= cc
CXX ?= g++
PKGS := systemc libconfig gsl sqlite3
OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wundef -Wwrite-strings -Wpointer-arith \
        -Wstrict-prototypes -Wmissing-prototypes -Wredundant-decls -Wdisabled-optimization
CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) -MMD -MP $(SAN) $(CFLAGS)
CXXFLAGS_ALL := -std=c++17 $(OPT) -Wall -Wextra -Werror -MMD -MP $(SAN) $(CXXFLAGS)
B := build$(if $(SAN),-san)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

LIB_C := $(wildcard arch/*.c workloads/*.c kernels/*.c sim/*.c results/*.c explorer/*.c)
LIB_C := $(filter-out explorer/codesim.c,$(LIB_C))
LIB_CXX := $(wildcard sim/*.cpp)
LIB_OBJ := $(LIB_C:%.c=$(B)/%.o) $(LIB_CXX:%.cpp=$(B)/%.o)
TEST_C := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_C:%.c=$(B)/%.o)

BIN := codesim$(if $(SAN),-san)
TESTBIN := tests/run_tests$(if $(SAN),-san)

.PHONY: all deps build demo test bench validate gpu-measure asan clean

all: build

# Install only what is missing, and say so.
deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "codesim: installing missing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	    || { echo "codesim: could not install:$$missing (run as root or with sudo)"; exit 1; }; \
	fi; \
	for p in $(OPTIONAL_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || { \
	    echo "codesim: installing optional $$p (plots in reports)"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$p >/dev/null 2>&1 || \
	      echo "codesim: $$p not installed; reports will have tables only"; }; \
	done

build: $(BIN)

$(BIN): $(B)/explorer/codesim.o $(B)/libcodesim.a
	@echo "  LD  $@"
	@$(CXX) $(SAN) -o $@ $^ $(PKG_LIBS) -lm

$(B)/libcodesim.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(B)/%.o: %.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX $<"
	@$(CXX) $(CXXFLAGS_ALL) $(shell pkg-config --cflags systemc 2>/dev/null) -c $< -o $@

$(TESTBIN): $(TEST_OBJ) $(B)/libcodesim.a
	@echo "  LD  $@"
	@$(CXX) $(SAN) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) -lm

demo: deps
	@$(MAKE) --no-print-directory build
	@./$(BIN) demo

test: deps
	@$(MAKE) --no-print-directory build $(TESTBIN)
	@CODESIM_HOME=$(CURDIR) CK_DEFAULT_TIMEOUT=120 ./$(TESTBIN)

bench: deps
	@$(MAKE) --no-print-directory build
	@./bench/bench.sh ./$(BIN)

validate: deps
	@$(MAKE) --no-print-directory build
	@./$(BIN) validate
	@echo; echo "beyond the set (tests/validation/beyond.tsv: never fitted, no threshold):"
	@./$(BIN) validate tests/validation/beyond.tsv

# On a machine with an NVIDIA GPU and nvcc only (a lent device machine): time
# GEMMs, memory bandwidth and launches (tests/gpu/README.md).  Not part of test.
gpu-measure:
	@sh tests/gpu/run.sh $(GPU_OUT)

golden: deps
	@$(MAKE) --no-print-directory build
	@sh tests/golden/update.sh

# The suites' CLI tests drive the plain ./codesim (built first); the sanitized
# ./codesim-san then runs a command of every subcommand (tests/asan_cli.sh).
asan: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" OPT="-O1 -g" \
	  build tests/run_tests-san
	@CODESIM_HOME=$(CURDIR) CK_DEFAULT_TIMEOUT=300 ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./tests/run_tests-san
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  sh tests/asan_cli.sh ./codesim-san

clean:
	rm -rf build build-san codesim codesim-san tests/run_tests tests/run_tests-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)
