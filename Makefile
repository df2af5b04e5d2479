# frtui — plain Makefile (Redis mould).
#
#   make            build ./frtui (missing Debian -dev packages: installed as root, else the
#                   apt-get line to run is printed; see `deps`)
#   make install PREFIX=/usr/local   frtui, frtui-dev, their man pages and the samples
#   make demo       build and open the inspector on the default sample
#   make test       unit + numerical + CLI tests (all tiers); ends with "N passed, N failed"
#   make check      the C test binaries only (the fast loop); T=name runs one test function
#   make coverage   line coverage of the C tests (gcov), build/coverage/summary.txt
#   make bench      benchmarks (speed is measured here, never asserted in tests)
#   make bench-dp   one unit's ms/iteration with its mini-batch split over 1, 2, 4 MPI ranks (sharded
#                   and replicated calibration cache)
#   make samples    retrain the bundled samples: Fashion-MNIST (bit-identical at FRTUI_THREADS=1)
#                   and the language model (make samples-lm, ~30 min)
#   make SANITIZE=address,undefined test   /   make SANITIZE=thread test
#   make MPI=1      build/mpi/frtui built with mpicc: `mpirun -n K build/mpi/frtui sweep ...` spreads
#                   a sweep's points over the ranks (README "Sweeps and scaling out"); Debian's
#                   libopenmpi-dev + openmpi-bin installed as root like the other deps.  The plain
#                   build has no MPI dependency, and ./frtui stays the plain one.
#   V=1             show full compiler command lines
#
# Builds go to build/<variant>/ so sanitizer and normal objects never mix.  Every artefact is
# written to a temporary name and renamed, so two makes running in one tree never see a
# half-written object or archive.

CC       ?= cc
PKG_CONFIG ?= pkg-config
PKGS     := ncursesw libpng libjpeg libzstd openblas zlib
SANITIZE ?=

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# -fno-math-errno lets the compiler inline/vectorise sqrtf and friends in the hot loops; we
# never read errno after maths calls.
# ARCH: x86-64-v3 (AVX2+FMA) wherever the CPU has it, so every AVX2 machine runs the same
# instructions -- the same CPUs on which frtui runs OpenBLAS's Haswell kernels for reproducible
# results (src/engine/blas.c).  -march=native would not change results by itself (-std=c11 keeps
# fp-contract off, and float reductions are never reordered without -ffast-math), but one binary
# for all of them removes the question, at no measured speed cost (README "Determinism").
# Other CPUs build for themselves (native).
ifeq ($(origin ARCH),undefined)
ARCH     := $(if $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo y),x86-64-v3,native)
endif
OPT      ?= -O2 -march=$(ARCH) -fno-math-errno
DEBUG    := -g
ifeq ($(CI),true)
WERROR   ?= 1
endif
ifeq ($(WERROR),1)
WARN     += -Werror
endif

comma    := ,
VARIANT  := release
ifneq ($(SANITIZE),)
VARIANT  := san-$(subst $(comma),-,$(SANITIZE))
OPT      := -O1 -march=$(ARCH) -fno-math-errno
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# MPI=1: the same sources through mpicc with FR_MPI (only src/app/sweep_mpi.c differs), in a
# build folder of its own so plain and MPI objects never mix.
MPI      ?=
MPICC    ?= mpicc
ifeq ($(MPI),1)
VARIANT  := $(if $(SANITIZE),$(VARIANT)-mpi,mpi)
CC       := $(MPICC)
MPIFLAGS := -DFR_MPI
endif
BUILD    := build/$(VARIANT)

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS_ALL  = -std=c11 -D_GNU_SOURCE $(MPIFLAGS) $(WARN) $(OPT) $(DEBUG) $(SANFLAGS) -Iinclude $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

# src/<part>/*.c, one folder per part (README "Map"); src/tools/ is the frtui-dev program and
# is never linked into frtui.
PARTS    := base engine quant recon io import view app
LIBSRC   := $(filter-out src/app/main.c,$(sort $(foreach p,$(PARTS),$(wildcard src/$(p)/*.c))))
LIBOBJ   := $(LIBSRC:src/%.c=$(BUILD)/obj/%.o)
MAINOBJ  := $(BUILD)/obj/app/main.o
TOOLSRC  := $(filter-out src/tools/dev_main.c,$(sort $(wildcard src/tools/*.c)))
TOOLOBJ  := $(TOOLSRC:src/%.c=$(BUILD)/obj/%.o)
DEVMAINOBJ := $(BUILD)/obj/tools/dev_main.o
TESTSRC  := $(sort $(wildcard tests/test_*.c))
TESTBIN  := $(TESTSRC:tests/%.c=$(BUILD)/tests/%)
BIN      := $(BUILD)/frtui
DEVBIN   := $(BUILD)/frtui-dev
DEPS_STAMP := build/.deps-ok
TEST_DEPS_STAMP := build/.test-deps-ok
MPI_DEPS_STAMP := build/.mpi-deps-ok

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps test-deps install uninstall demo test check coverage bench bench-mem bench-dp samples samples-check samples-real report \
        samples-lm report-lm \
        report-real clean fuzz photos samples-real-probe report-contrast contrast-bundles
ifeq ($(MPI),1)
all: $(DEPS_STAMP) $(MPI_DEPS_STAMP) $(BIN) $(DEVBIN)
else
all: $(DEPS_STAMP) frtui frtui-dev
endif

# ./frtui and ./frtui-dev are copies of the release binaries so README commands stay short.
frtui: $(BIN)
	$(Q)cp $(BIN) frtui.tmp && mv -f frtui.tmp frtui
frtui-dev: $(DEVBIN)
	$(Q)cp $(DEVBIN) frtui-dev.tmp && mv -f frtui-dev.tmp frtui-dev

# `deps` checks what a fresh Debian 12 machine lacks to BUILD frtui (the -dev packages);
# `test-deps` what `make test` also uses (the tmux UI tests, the Fashion-MNIST data, the ONNX
# test models, the zstd tool).  As root, one apt-get install for everything missing; as any
# other user, the exact apt-get line to run and the build goes on (pkg-config may find the
# libraries elsewhere; tests skip what they lack).  Only runs apt when something is missing;
# without dpkg (not Debian) nothing is checked.
BUILD_DEB := libncurses-dev libpng-dev libjpeg62-turbo-dev libzstd-dev zlib1g-dev libopenblas-dev pkg-config
# MPI=1 builds (and tests/mpi.t.sh, which make test runs) need Open MPI's compiler and mpirun.
MPI_DEB   := libopenmpi-dev openmpi-bin
TEST_DEB  := dataset-fashion-mnist tmux zstd libonnx-testdata python3 $(MPI_DEB)
define need_debs
	@command -v dpkg >/dev/null 2>&1 || { mkdir -p build && touch $@; exit 0; }; \
	missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "$(2): missing$$missing; install with:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	    exit 0; \
	  fi; \
	  echo "$(2): installing$$missing"; \
	  mkdir -p build; \
	  [ -f build/.apt-updated ] || { apt-get update -qq && touch build/.apt-updated; } || exit 1; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi; \
	mkdir -p build && touch $@
endef
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	$(call need_debs,$(BUILD_DEB),deps)
test-deps: $(TEST_DEPS_STAMP)
$(TEST_DEPS_STAMP):
	$(call need_debs,$(TEST_DEB),test-deps)
$(MPI_DEPS_STAMP):
	$(call need_debs,$(MPI_DEB),mpi-deps)

$(BUILD)/obj/%.o: src/%.c | $(DEPS_STAMP) $(if $(filter 1,$(MPI)),$(MPI_DEPS_STAMP))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(if $(PKG_CFLAGS),,$(shell $(PKG_CONFIG) --cflags $(PKGS))) -MMD -MP -MF $(@:.o=.d) -MT $@ -c $< -o $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(BUILD)/libfrtui.a: $(LIBOBJ)
	$(Q)ar rcs $@.$$$$.tmp $^ && mv -f $@.$$$$.tmp $@

$(BUILD)/libfrtui-tools.a: $(TOOLOBJ)
	$(Q)ar rcs $@.$$$$.tmp $^ && mv -f $@.$$$$.tmp $@

$(BIN): $(MAINOBJ) $(BUILD)/libfrtui.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@.$$$$.tmp $^ $(if $(PKG_LIBS),$(PKG_LIBS),$(shell $(PKG_CONFIG) --libs $(PKGS))) -lpthread -lm && mv -f $@.$$$$.tmp $@

$(DEVBIN): $(DEVMAINOBJ) $(BUILD)/libfrtui-tools.a $(BUILD)/libfrtui.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@.$$$$.tmp $^ $(if $(PKG_LIBS),$(PKG_LIBS),$(shell $(PKG_CONFIG) --libs $(PKGS))) -lpthread -lm && mv -f $@.$$$$.tmp $@

$(BUILD)/tests/%: tests/%.c tests/fr_test.h $(BUILD)/libfrtui-tools.a $(BUILD)/libfrtui.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(if $(PKG_CFLAGS),,$(shell $(PKG_CONFIG) --cflags $(PKGS))) -Itests -MMD -MP -MF $@.d -MT $@ -o $@.$$$$.tmp $< $(BUILD)/libfrtui-tools.a $(BUILD)/libfrtui.a $(LDFLAGS_ALL) $(if $(PKG_LIBS),$(PKG_LIBS),$(shell $(PKG_CONFIG) --libs $(PKGS))) -lpthread -lm && mv -f $@.$$$$.tmp $@

# llama.cpp's prebuilt libraries (npm @node-llama-cpp/linux-x64): the independent runtime that
# tests/test_gguf.c loads with dlopen to measure exported GGUF files (issue 16).
LLAMA_LIB := build/npm/llama/bins/linux-x64/libllama.v0.5.0.so

DEFAULT_SAMPLE := samples/resnet-fmnist.frm
demo: all
	./frtui $(DEFAULT_SAMPLE)

# The test runner executes every tests/test_* binary and every tests/*.t.sh script, and
# prints the closing "N passed, N failed" line that CI reads.
test: $(DEPS_STAMP) $(TEST_DEPS_STAMP) $(BIN) $(DEVBIN) $(TESTBIN)
	@[ "$(MPI)" = 1 ] || $(MAKE) --no-print-directory MPI=1 SANITIZE= build/mpi/frtui || echo "warning: the MPI build failed; tests/mpi.t.sh will say why"
	@[ -s $(LLAMA_LIB) ] || sh tests/tools/fetch_llama.sh build/npm || echo "warning: npm llama.cpp fetch failed; the GGUF check against llama.cpp will fail"
	@[ -s $(NSFWJS) ] || sh tests/tools/fetch_nsfwjs.sh build/npm || echo "warning: npm nsfwjs fetch failed; the tfjs reference test will skip"
	@[ -s $(FACEAPI) ] || sh tests/tools/fetch_faceapi.sh build/npm || echo "warning: npm face-api fetch failed; the face-api reference test will skip"
	@FRTUI_BIN=$(BIN) FRTUI_DEV_BIN=$(DEVBIN) BUILD=$(BUILD) sh tests/run.sh $(TESTBIN)

# The fast loop: the C test binaries only (no CLI/tmux/pty scripts).  T=name runs one test
# function in every binary that has it (tests/fr_test.h); `make test T=name` does the same for
# the binaries and still runs the scripts.
check: $(DEPS_STAMP) $(TESTBIN)
	@[ -s $(LLAMA_LIB) ] || sh tests/tools/fetch_llama.sh build/npm || echo "warning: npm llama.cpp fetch failed; the GGUF check against llama.cpp will fail"
	@FR_TEST=$(T) BUILD=$(BUILD) sh tests/run.sh --bins-only $(TESTBIN)

# Line coverage of the C tests: an instrumented build in build/coverage, the test binaries run
# once, then gcov per source file; the total goes to build/coverage/summary.txt (the figure in
# docs/TESTING.md comes from here).  Plain gcov; gcovr is used for an HTML report when present.
coverage:
	@rm -rf build/coverage/obj build/coverage/tests
	$(MAKE) --no-print-directory BUILD=build/coverage OPT="-O0 -fno-math-errno" \
	  CFLAGS="$(CFLAGS) --coverage" LDFLAGS="$(LDFLAGS) --coverage" \
	  $(patsubst $(BUILD)/%,build/coverage/%,$(TESTBIN))
	-@FR_TEST=$(T) BUILD=build/coverage sh tests/run.sh --bins-only $(patsubst $(BUILD)/%,build/coverage/%,$(TESTBIN)) \
	  >build/coverage/tests.log 2>&1; tail -n 1 build/coverage/tests.log
	@sh tests/tools/coverage.sh build/coverage

bench: all
	./frtui-dev bench --json bench/results.json
	@if [ -n "$(BENCH_MEM)" ]; then $(MAKE) --no-print-directory bench-mem; fi

# Opt-in (~30 min per budget at the defaults on 2 shared cores, ~16 GB of disk traffic): peak RSS
# and the time cost of spilled calibration caches on the real MobileNetV2 with 1024 images under
# --max-mem 16G, 4G and 2G (issue 19).  Also run by `make bench BENCH_MEM=1`.  Scaled down, e.g.:
#   make bench-mem BENCH_MEM_ARGS="--n-calib 256 --iters 10 --budgets 8G,4G,2G"
# The real sample samples/mobilenetv2-imagenet.frm is used when present (else it is built from
# the npm model).
BENCH_MEM_ARGS ?=
bench-mem: all $(if $(wildcard samples/mobilenetv2-imagenet.frm),,$(NSFWJS))
	nice ./frtui-dev bench-mem --json bench/mem.json $(BENCH_MEM_ARGS)

# Data parallel inside one unit (issue 17): ms per FlexRound iteration of one unit of the ResNet
# sample at 1 rank (no launcher), and under mpirun at 1, 2 and 4 ranks (4 oversubscribed on a
# 2-core machine; unbound, so ranks move off cores that other work holds), with BENCH_DP_THREADS
# compute threads per rank; one JSON object per line in bench/dp.json.  Speed is measured here
# only, never asserted in tests.
BENCH_DP_ARGS ?=
BENCH_DP_THREADS ?= 1
BENCH_DP_MPIRUN = OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none \
	FRTUI_THREADS=$(BENCH_DP_THREADS) mpirun --oversubscribe --bind-to none
bench-dp:
	$(MAKE) --no-print-directory MPI=1 SANITIZE= build/mpi/frtui-dev
	@mkdir -p bench build/bench-dp
	FRTUI_THREADS=$(BENCH_DP_THREADS) build/mpi/frtui-dev bench-dp $(BENCH_DP_ARGS) --json build/bench-dp/plain.json
	for k in 1 2 4; do $(BENCH_DP_MPIRUN) -n $$k build/mpi/frtui-dev bench-dp $(BENCH_DP_ARGS) --json build/bench-dp/n$$k.json || exit 1; done
	for k in 2 4; do $(BENCH_DP_MPIRUN) -n $$k build/mpi/frtui-dev bench-dp $(BENCH_DP_ARGS) --dp-cache replicate --json build/bench-dp/r$$k.json || exit 1; done
	cat build/bench-dp/plain.json build/bench-dp/n1.json build/bench-dp/n2.json build/bench-dp/n4.json build/bench-dp/r2.json \
	    build/bench-dp/r4.json > bench/dp.json.tmp && mv -f bench/dp.json.tmp bench/dp.json

samples: all samples-lm
	FRTUI_THREADS=1 ./frtui-dev train-samples --out samples

# The language-model sample (issue 16): a byte-level LLaMA-style model trained on the King James
# Bible as Debian's bible-kjv prints it (text: bible-kjv-text, public domain; samples/README.md).
# About 30 minutes on 2 cores at the default FRTUI_THREADS=2; the weights are the same bits at
# any thread count, the bundle records the count, so regenerate with the same one to compare.
KJV_TXT := build/kjv/kjv.txt
LM_DEPS_STAMP := build/.lm-deps
$(LM_DEPS_STAMP):
	$(call need_debs,bible-kjv,samples-lm)
$(KJV_TXT): | $(LM_DEPS_STAMP)
	@mkdir -p $(dir $@)
	bible "Genesis 1:1-Revelation 22:21" > $@.tmp && mv -f $@.tmp $@
samples-lm: all $(KJV_TXT)
	./frtui-dev train-lm --text $(KJV_TXT) --out samples/tinylm-kjv.frm

# Retrains all three samples into build/ and compares them byte for byte with samples/.
samples-check: all $(KJV_TXT)
	FRTUI_THREADS=1 ./frtui-dev train-samples --out build/samples-check
	./frtui-dev train-lm --text $(KJV_TXT) --out build/samples-check/tinylm-kjv.frm
	for f in samples/mlp-fmnist.frm samples/resnet-fmnist.frm samples/mobilenetv2-fmnist.frm samples/tinylm-kjv.frm; do \
	  cmp $$f build/samples-check/$$(basename $$f) && echo "$$f: identical" || exit 1; done

# The README's results table: RTN / AdaRound / FlexRound at W4 and W3 with the teaching preset.
report: all
	./frtui report --bits 4 --bits 3 --preset teaching samples/mlp-fmnist.frm samples/resnet-fmnist.frm \
	  samples/mobilenetv2-fmnist.frm

# Issue 16, item 8: the language-model sample at W4 and W3 on the official FlexRound LLM grid
# (flexround-llm: per-channel asymmetric min-max, lr 3e-3), per output channel and per group of
# 128 inputs, block-wise.  LM_ITERS/LM_BATCH trade time for the preset's 5000 it x 32 windows
# (about 30 min at the defaults on 2 cores; README "The language-model sample").
LM_ITERS ?= 300
LM_BATCH ?= 8
LM_SAMPLE := samples/tinylm-kjv.frm
report-lm: all
	nice ./frtui report --bits 4 --bits 3 --preset flexround-llm --iters $(LM_ITERS) --batch $(LM_BATCH) $(LM_SAMPLE)
	nice ./frtui report --bits 4 --bits 3 --preset flexround-llm --group-size 128 --iters $(LM_ITERS) \
	  --batch $(LM_BATCH) $(LM_SAMPLE)

# The real MobileNetV2 (npm nsfwjs@4.3.0, ImageNet weights) with its own 5-class head, calibrated
# on crops of natural photographs from Debian packages (licences in samples/README.md):
# PHOTO_SET=skimage (default) uses python3-skimage's; PHOTO_SET=wide adds mate-backgrounds,
# plasma-workspace-wallpapers and python3-sklearn (JPEGs, read with libjpeg-turbo).  The .debs
# are downloaded and unpacked into build/deb, never installed (skimage would pull in matplotlib
# and scipy, the wallpapers a desktop); as root apt-get warns that it cannot sandbox the download
# as _apt, which is harmless.  Calibration photos and evaluation photos are disjoint
# (src/tools/photoset.c); the eval set has no labels, so frtui reports fidelity to the
# full-precision network (feature cosine, relative MSE, top-1 agreement, KL).
NSFWJS := build/npm/mobilenet_v2/model.json
$(NSFWJS):
	sh tests/tools/fetch_nsfwjs.sh build/npm
PHOTOS := build/deb
PHOTO_SET ?= skimage
PHOTO_DEBS_skimage := python3-skimage
PHOTO_DEBS_wide := python3-skimage mate-backgrounds plasma-workspace-wallpapers python3-sklearn
PHOTO_STAMP := build/deb/.photos-$(PHOTO_SET)
$(PHOTO_STAMP):
	rm -rf build/deb/dl && mkdir -p build/deb/dl
	cd build/deb/dl && apt-get download $(PHOTO_DEBS_$(PHOTO_SET))
	for f in build/deb/dl/*.deb; do dpkg-deb -x $$f build/deb || exit 1; done
	rm -rf build/deb/dl
	@touch $@
photos: $(PHOTO_STAMP)
REAL_CALIB ?= 1024
REAL_EVAL ?= 256
samples-real: all $(NSFWJS) $(PHOTO_STAMP)
	./frtui-dev photo-set --set $(PHOTO_SET) --split calib --n $(REAL_CALIB) --size 224 --seed 1 --dir $(PHOTOS) \
	  -o build/photos-calib.npy
	./frtui-dev photo-set --set $(PHOTO_SET) --split eval --n $(REAL_EVAL) --size 224 --seed 2 --dir $(PHOTOS) \
	  -o build/photos-eval.npy
	./frtui import $(NSFWJS) --calib build/photos-calib.npy --eval build/photos-eval.npy --n-calib 0 \
	  --name mobilenetv2-nsfwjs -o samples/mobilenetv2-imagenet.frm
# The older Fashion-MNIST linear-probe bundle of the same backbone (secondary, not in report-real).
samples-real-probe: all $(NSFWJS)
	FRTUI_THREADS=1 ./frtui-dev build-real-sample --model $(NSFWJS) --out samples/mobilenetv2-probe.frm
# The paper's MobileNetV2 experiment (issue 15): W4 per-tensor s1 (the paper's CNN setting), first
# layer (Conv1) and last layer (dense_3) 8-bit, BRECQ blocks, batch 32, FlexRound lr 1e-3 (cosine
# schedule), AdaRound lr 1e-3 lambda 0.1, on the photo-calibrated bundle; the table gives FP / RTN /
# AdaRound / FlexRound with the fidelity metrics (feature cosine and relative MSE at the global
# average pool, top-1 agreement and KL of the 5-class head, on the 256 held-out crops), aggressive
# rounding per unit and per layer, and the time of each method.  REAL_ITERS=800 and
# REAL_NCALIB=1024 are the reference settings (a 1024-crop FlexRound run peaks at 6.3 GiB and fits
# smaller machines by spilling, --max-mem); README "The paper's MobileNetV2 experiment" gives the
# numbers and their runs.  `make report-real REAL_PC=--per-channel REAL_ITERS=1500` is the
# per-channel variant.  It ends
# with report-contrast (below) at the same iteration budget: the compact-vs-ResNet table and plot.
REAL_ITERS ?= 800
REAL_NCALIB ?= 1024
REAL_PC ?=
report-real: all $(NSFWJS)
	@[ -s samples/mobilenetv2-imagenet.frm ] || $(MAKE) samples-real
	nice ./frtui report --bits 4 --iters $(REAL_ITERS) --batch 32 --n-calib $(REAL_NCALIB) --lr 1e-3 --lambda 0.1 \
	  $(REAL_PC) samples/mobilenetv2-imagenet.frm
	$(MAKE) --no-print-directory report-contrast CONTRAST_ITERS=$(REAL_ITERS) CONTRAST_NCALIB=$(REAL_NCALIB)

# The paper's contrast on real weights (issue 15, item 3): FlexRound's aggressive-rounding fraction
# per BRECQ block of a compact network (the real MobileNetV2, npm nsfwjs@4.3.0, run up to Conv_1,
# its feature layer) against a ResNet (face-api's ResNet-34-style face-recognition network, npm
# @vladmandic/face-api@1.7.15, built from its weights manifest by src/import/faceres.c), at the
# same bits and budget: W4, first/last layer 8-bit, BRECQ blocks, batch 32, FlexRound lr 1e-3
# (the issue's reference setting), CONTRAST_ITERS it/unit on CONTRAST_NCALIB photo crops
# (python3-skimage, `make photos` and `frtui-dev photo-set`, the same split as report-real),
# per-tensor and per-channel.  Fidelity is measured on held-out photo crops: the 128-d embedding
# cosine for the ResNet, the 1280-d GAP-feature cosine for MobileNetV2.  Output: docs/contrast.md
# (one table) and docs/contrast.png (one plot, frtui's own PNG renderer).  The defaults are the
# issue's budget, 800 it/unit on 1024 crops: at FRTUI_THREADS=2 on this project's 2-core VM the
# ResNet took 9 and 8 minutes (per-tensor, per-channel), MobileNetV2 13 and 11 (5 Dec 2026;
# README "Compact vs ResNet").  E.g.
# `make report-contrast CONTRAST_ITERS=200 CONTRAST_NCALIB=256` for a quicker look.
FACEAPI := build/npm/faceapi/face_recognition_model-weights_manifest.json
$(FACEAPI):
	sh tests/tools/fetch_faceapi.sh build/npm
CONTRAST_ITERS ?= 800
CONTRAST_NCALIB ?= 1024
CT := build/contrast
CT_RUN = ./frtui run --method flexround --bits 4 --first-last-bits 8 --iters $(CONTRAST_ITERS) --batch 32 \
	  --lr 1e-3 --n-calib $(CONTRAST_NCALIB) -q
contrast-bundles: all $(FACEAPI) $(NSFWJS) photos
	@mkdir -p $(CT)
	./frtui-dev photo-set --split calib --n 1024 --size 150 --seed 1 --dir $(PHOTOS) -o $(CT)/photos150-calib.npy
	./frtui-dev photo-set --split eval --n 256 --size 150 --seed 2 --dir $(PHOTOS) -o $(CT)/photos150-eval.npy
	./frtui-dev photo-set --split calib --n 1024 --size 224 --seed 1 --dir $(PHOTOS) -o $(CT)/photos224-calib.npy
	./frtui-dev photo-set --split eval --n 256 --size 224 --seed 2 --dir $(PHOTOS) -o $(CT)/photos224-eval.npy
	./frtui import $(FACEAPI) --calib $(CT)/photos150-calib.npy -o $(CT)/face-resnet34.frm
	./frtui import $(NSFWJS) --calib $(CT)/photos224-calib.npy --name mobilenetv2-nsfwjs -o $(CT)/mobilenetv2.frm
report-contrast: all
	@[ -s $(CT)/face-resnet34.frm ] && [ -s $(CT)/mobilenetv2.frm ] || $(MAKE) contrast-bundles
	for g in tensor channel; do pc=""; [ $$g = channel ] && pc=--per-channel; \
	  $(CT_RUN) $$pc $(CT)/face-resnet34.frm --checkpoint $(CT)/resnet.$$g.frc || exit 1; \
	  $(CT_RUN) $$pc --unit Conv_1 $(CT)/mobilenetv2.frm --checkpoint $(CT)/mnv2.$$g.frc || exit 1; done
	./frtui-dev contrast --png docs/contrast.png --md docs/contrast.md \
	  --label MobileNetV2 --label "ResNet-34 (face)" --label MobileNetV2 --label "ResNet-34 (face)" \
	  --eval $(CT)/photos224-eval.npy --eval $(CT)/photos150-eval.npy \
	  --eval $(CT)/photos224-eval.npy --eval $(CT)/photos150-eval.npy \
	  $(CT)/mnv2.tensor.frc $(CT)/resnet.tensor.frc $(CT)/mnv2.channel.frc $(CT)/resnet.channel.frc

# `make install PREFIX=/usr/local` (and DESTDIR for packaging): the two programs, their manual
# pages and the samples.  The installed frtui opens PREFIX/share/frtui/samples/resnet-fmnist.frm
# when started without a file outside the source tree.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/frtui
install: $(BIN) $(DEVBIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/samples
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/frtui
	install -m 755 $(DEVBIN) $(DESTDIR)$(BINDIR)/frtui-dev
	install -m 644 docs/man/frtui.1 docs/man/frtui-dev.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 samples/*.frm samples/README.md $(DESTDIR)$(DATADIR)/samples/
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/frtui $(DESTDIR)$(BINDIR)/frtui-dev $(DESTDIR)$(MANDIR)/man1/frtui.1 \
	  $(DESTDIR)$(MANDIR)/man1/frtui-dev.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build frtui frtui-dev

-include $(LIBOBJ:.o=.d) $(MAINOBJ:.o=.d) $(TOOLOBJ:.o=.d) $(DEVMAINOBJ:.o=.d) $(TESTBIN:=.d)

# Fuzzing (issue 8): every libFuzzer harness in tests/fuzz/ for FUZZ_SECONDS each, in turn
# (see tests/fuzz/README.md).  Needs clang-14 + libclang-rt-14-dev (run.sh installs them as root).
FUZZ_SECONDS ?= 60
fuzz:
	sh tests/fuzz/run.sh run $(FUZZ_SECONDS)
