# pktstat - one non-recursive Makefile.
#
#   make            build build/release/pktstat
#   make test       install missing deps, build, run every test
#   make asan|tsan  the same tests on a sanitizer build
#   make deps       install the Debian packages the build/tests/bench need
#
# Objects live under build/$(VARIANT)/; quiet unless V=1.

VARIANT ?= release
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man/man1
# systemd looks in /usr/local/lib/systemd/system too
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

PKGS = libpcap liburcu liburcu-cds ncursesw libxxhash libcap-ng libbpf \
	libmicrohttpd libfixbuf jansson
PKG_CONFIG ?= pkg-config

CC ?= cc
ifeq ($(origin CC),default)
CC = cc
endif
B = build/$(VARIANT)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

BASE_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DPKTSTAT_VERSION='"$(VERSION)"' -MMD -MP -I. -Isrc -I$(BPF_OUT)
OPT_release = -O2 -g
OPT_asan = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
OPT_tsan = -O1 -g -fsanitize=thread
OPT_fuzz = -O1 -g -fsanitize=fuzzer-no-link,address,undefined

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libmicrohttpd is loaded by src/metrics.c when --metrics serves (dlopen):
# linked, it and the TLS stack it brings would load at every start
PKG_LIBS := $(filter-out -lmicrohttpd,$(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null))
CRIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRIT_LIBS := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)

CFLAGS_ALL = $(BASE_CFLAGS) $(OPT_$(VARIANT)) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(OPT_$(VARIANT)) -pthread $(LDFLAGS)
LIBS_ALL = $(PKG_LIBS) -lm

ifeq ($(V),1)
Q =
else
Q = @
endif

# Everything but main.c; tests link the subset they need.
CORE_SRCS = $(filter-out src/main.c,$(wildcard src/*.c capture/*.c ui/*.c))
CORE_OBJS = $(CORE_SRCS:%.c=$(B)/%.o)
BIN = $(B)/pktstat

TEST_SRCS = $(wildcard tests/test_*.c)
TEST_BINS = $(TEST_SRCS:%.c=$(B)/%)

all: $(BIN)

# ---- eBPF programs (libbpf-bootstrap's layout) ---------------------------
# Every bpf/NAME.bpf.c is compiled once (whatever the VARIANT) with clang
# -target bpf, CO-RE against build/vmlinux.h (the running kernel's BTF,
# dumped by bpftool), into build/bpf/NAME.bpf.o; bpftool turns that into
# the skeleton build/bpf/NAME.skel.h (struct NAME_bpf, NAME_bpf__open ...)
# that its userspace loader includes as "NAME.skel.h". A new bpf/*.bpf.c
# gets its skeleton by existing: every userspace object waits for all
# skeletons (order-only), and -MMD records which one it really includes.
# BPF-side headers shared with userspace sit in bpf/ (plain __u* types).
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_OUT = build/bpf
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/')
BPF_SRCS = $(wildcard bpf/*.bpf.c)
BPF_OBJS = $(BPF_SRCS:bpf/%.bpf.c=$(BPF_OUT)/%.bpf.o)
BPF_SKELS = $(BPF_SRCS:bpf/%.bpf.c=$(BPF_OUT)/%.skel.h)
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) \
	-Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP \
	-Ibuild -Ibpf

build/vmlinux.h:
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BTF     $@")
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && \
		mv $@.tmp $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c build/vmlinux.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && \
		mv $@.tmp $@

bpf: $(BPF_SKELS)

.SECONDARY: $(BPF_OBJS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(CRIT_CFLAGS) -c -o $@ $<

$(B)/libpktstat.a: $(CORE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(B)/src/main.o $(B)/libpktstat.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

# A unit test links the objects named in DEPS_<test> (so one module's
# work in progress does not break another's tests), else the whole library.
DEPS_test_decode = src/decode
DEPS_test_flowkey = src/flowkey src/numfmt src/decode
DEPS_test_fragtab = src/fragtab src/flowkey src/numfmt src/decode
DEPS_test_flowtab = src/flowtab src/app src/mem src/flowkey src/numfmt src/decode
DEPS_test_opts = src/opts src/group src/app src/flowkey src/numfmt src/decode
DEPS_test_plan = src/plan src/opts src/group src/app src/flowkey src/numfmt \
	src/decode
DEPS_test_metrics = src/metrics src/flowkey src/numfmt src/decode
DEPS_test_ipfix = src/ipfix src/snapshot src/flowtab src/app src/mem src/flowkey src/numfmt \
	src/decode
DEPS_test_names = src/names
DEPS_test_report = src/report src/ob src/savefile src/group src/snapshot src/flowkey src/numfmt src/decode \
	src/flowtab src/app src/mem src/procs src/filterlog
DEPS_test_view = src/view src/view_rate src/rowsort src/group src/selfflow \
	src/names src/snapshot src/flowkey src/numfmt src/decode src/flowtab src/app \
	src/mem src/procs ui/columns ui/view_format ui/keys ui/prompt
DEPS_test_capture = capture/capture capture/backends capture/pcap \
	capture/pcapfile capture/pcapbase \
	capture/tpacket3 src/mem capture/ebpf capture/cbpf
DEPS_test_abbrev = src/abbrev
DEPS_test_tcpstat = src/tcpstat
DEPS_test_origfmt = src/origfmt src/abbrev src/flowkey src/numfmt src/snapshot src/decode \
	src/flowtab src/app src/mem
DEPS_test_counters = src/counters
DEPS_test_countercmd = src/countercmd src/counters
DEPS_test_cpanel = ui/cpanel
DEPS_test_group = src/group src/app src/flowkey src/numfmt src/decode
DEPS_test_history = src/history src/snapshot src/flowkey src/numfmt src/decode \
	src/flowtab src/app src/mem
DEPS_test_jsonl = src/jsonl
DEPS_test_selfflow = src/selfflow
DEPS_test_snapname = src/snapname
DEPS_test_say = src/say
DEPS_test_hosts = ui/hosts src/group src/app src/flowkey src/numfmt src/decode
DEPS_test_filterlog = src/filterlog
DEPS_test_fuzz_regress = fuzz/invariants src/decode src/flowkey src/numfmt src/flowtab \
	src/fragtab \
	src/mem src/proto src/app src/procs src/procres src/procs_bpf \
	src/tcpstat src/counters \
	src/worker capture/capture capture/pcap capture/pcapfile \
	capture/pcapbase capture/tpacket3 \
	capture/ebpf capture/cbpf
DEPS_test_app = src/app src/decode src/flowtab src/flowkey src/numfmt src/mem
DEPS_test_procs = src/procs src/procres src/procs_bpf
# The bench parsers are scripts (bench/parse.sh): the test links only itself.
DEPS_test_bench_parse = tests/test_bench_parse

TEST_NAMES = $(TEST_SRCS:tests/%.c=%)
define test_rule
$(B)/tests/$(1): $(B)/tests/$(1).o $$(if $$(DEPS_$(1)),$$(patsubst %,$(B)/%.o,$$(DEPS_$(1))),$(B)/libpktstat.a)
	@$$(if $(Q),echo "  LD      $$@")
	$(Q)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LIBS_ALL) $$(CRIT_LIBS)
endef
$(foreach t,$(TEST_NAMES),$(eval $(call test_rule,$(t))))

# Test helpers (generators) are plain programs.
$(B)/tests/gen/%: tests/gen/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS_ALL)

# tests/gen/ebpfheavy runs bpf/flows.bpf.c through its skeleton.
$(B)/tests/gen/ebpfheavy: $(BPF_OUT)/flows.skel.h

# Stress programs link the whole library (they drive real threads).
$(B)/tests/stress/%: tests/stress/%.c $(B)/libpktstat.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

STRESS_BINS = $(patsubst tests/stress/%.c,$(B)/tests/stress/%,$(wildcard tests/stress/*.c))

# LD_PRELOAD shims for fault tests.
$(B)/tests/shim/%.so: tests/shim/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $<

SHIM_LIBS = $(patsubst tests/shim/%.c,$(B)/tests/shim/%.so,$(wildcard tests/shim/*.c))

GEN_BINS = $(patsubst tests/gen/%.c,$(B)/tests/gen/%,$(wildcard tests/gen/*.c))

# The benchmark's TX-ring generator also drives tests/it/flood_live.sh.
$(B)/bench/blast: bench/blast.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS_ALL)

build-tests: $(BIN) $(TEST_BINS) $(GEN_BINS) $(STRESS_BINS) $(SHIM_LIBS) \
	$(B)/bench/blast

# ---- set-up -------------------------------------------------------------
# Debian packages for the build, the tests and the benchmarks. clang's
# sanitizer and libFuzzer runtimes (libclang-rt-dev) are only recommended
# by clang, and deps.sh installs without recommends: named here for make
# fuzz (clang -fsanitize=fuzzer), which make test runs.
DEB_PKGS = build-essential pkg-config clang libclang-rt-dev clang-format \
	libpcap-dev liburcu-dev libncurses-dev libxxhash-dev libcap-ng-dev \
	libcriterion-dev tcpdump tshark tmux iproute2 jq \
	netsniff-ng pktstat iftop valgrind tcpstat time \
	libbpf-dev bpftool libelf-dev zlib1g-dev libmicrohttpd-dev libfixbuf-dev \
	prometheus nfdump python3-ipfix iperf3 openssl dnsutils ethtool \
	libjansson-dev

deps:
	@bash tools/deps.sh $(DEB_PKGS)

run: deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(BIN) $(ARGS)

# Unit tests (Criterion), then integration scripts under tests/it. The
# build runs a job a core unless make was given -j already.
test: deps
	$(Q)$(MAKE) --no-print-directory \
		$(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc)) build-tests
	$(Q)B=$(B) bash tests/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory VARIANT=asan test

# Criterion cannot start under TSan here, so the TSan run drives the real
# threads through tests/stress (see tests/it/sanitizers.sh).
tsan: deps
	$(Q)bash tests/it/sanitizers.sh

check-unit: build-tests
	$(Q)B=$(B) UNIT_ONLY=1 bash tests/run.sh

# Regenerate pktstat.1's KEYS and SCREEN sections from ui/keys.c.
man-keys: $(B)/tests/stress/keysman
	$(Q)awk -v gen="$$($(B)/tests/stress/keysman)" '/KEYS-BEGIN/ {print; print gen; skip=1; next} /KEYS-END/ {skip=0} !skip' pktstat.1 > pktstat.1.tmp && mv pktstat.1.tmp pktstat.1
	$(Q)awk -v gen="$$($(B)/tests/stress/keysman screen)" '/SCREEN-BEGIN/ {print; print gen; skip=1; next} /SCREEN-END/ {skip=0} !skip' pktstat.1 > pktstat.1.tmp && mv pktstat.1.tmp pktstat.1

fmt:
	clang-format -i $(wildcard src/*.[ch] capture/*.[ch] ui/*.[ch] tests/*.[ch] tests/gen/*.c bpf/*.[ch])

fmt-check:
	@clang-format --dry-run --Werror $(wildcard src/*.[ch] capture/*.[ch] ui/*.[ch] tests/*.[ch] tests/gen/*.c bpf/*.[ch]) && echo "fmt-check: ok"

# ---- fuzzing (fuzz/README) ---------------------------------------------
# make fuzz [FUZZ_SECONDS=60] [FUZZ_JOBS=1] [FUZZ_TARGETS="fuzz_decode ..."]:
# build the libFuzzer targets with clang under build/fuzz/, seed them from
# the tcpdump corpus and run each for FUZZ_SECONDS, FUZZ_JOBS targets at a
# time; fails on any finding. make test runs it (tests/it/fuzz_smoke.sh).
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?= fuzz_decode fuzz_flowtab fuzz_pcapfile fuzz_proto fuzz_cbpf fuzz_app \
	fuzz_procs
FUZZ_DEPS = $(DEPS_test_fuzz_regress) fuzz/fastrcu
FUZZ_BINS = $(patsubst %,$(B)/fuzz/%,fuzz_decode fuzz_flowtab fuzz_pcapfile \
	fuzz_proto fuzz_cbpf fuzz_app fuzz_procs)
DEPS_test_proto = src/proto src/counters
FUZZ_LDFLAGS = -fsanitize=fuzzer,address,undefined

$(FUZZ_BINS) $(B)/fuzz/mkseeds: $(B)/fuzz/%: $(B)/fuzz/%.o \
		$(patsubst %,$(B)/%.o,$(FUZZ_DEPS))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) \
		$(if $(filter fuzz_%,$*),$(FUZZ_LDFLAGS)) \
		-o $@ $^ $(LIBS_ALL)

fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang VARIANT=fuzz \
		$(patsubst %,build/fuzz/fuzz/%,$(FUZZ_TARGETS) mkseeds)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
		bash fuzz/run.sh $(FUZZ_TARGETS)

.PHONY: fuzz

# ---- benchmarks (bench/README) -------------------------------------------
# make bench (root, < 15 min): every workload, three repeats, results in
# bench/results/latest.{json,md}; make bench-quick (< 2 min): one workload,
# one repeat, bench/results/quick.{json,md}.
# bench/uiframe drives the UI's own functions: it links the library.
$(B)/bench/uiframe: bench/uiframe.c $(B)/libpktstat.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS_ALL)) $(LDFLAGS_ALL) -o $@ \
		$^ $(LIBS_ALL)

# bench/histmem: the rewind history's memory (src/history.c) alone.
$(B)/bench/histmem: bench/histmem.c $(B)/libpktstat.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS_ALL)) $(LDFLAGS_ALL) -o $@ \
		$^ $(LIBS_ALL)

# bench/freshmem: what memory new to the process costs here, per flow slot.
$(B)/bench/freshmem: bench/freshmem.c $(B)/libpktstat.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS_ALL)) $(LDFLAGS_ALL) -o $@ \
		$^ $(LIBS_ALL)

# bench/mapref.bpf.o: the ebpf part's reference, a minimal per-flow
# counter in a tc program (bench/README).
$(B)/bench/mapref.bpf.o: bench/mapref.bpf.c build/vmlinux.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@ $<

# bench/bpfrun: the ebpf backend's counting program alone, timed by the
# kernel (BPF_PROG_TEST_RUN) on a pcap's frames: no network (bench/README).
$(B)/bench/bpfrun: bench/bpfrun.c $(BPF_OUT)/flows.skel.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS_ALL)) $(LDFLAGS_ALL) -o $@ \
		$< $(LIBS_ALL)

bench bench-quick: $(BIN) $(B)/bench/uiframe $(B)/bench/histmem \
		$(B)/bench/freshmem $(B)/bench/mapref.bpf.o
	@mkdir -p $(B)/bench
	@$(if $(Q),echo "  CC      bench/blast.c bench/runtool.c")
	$(Q)for p in blast runtool; do $(CC) \
		$(filter-out -MMD -MP,$(CFLAGS_ALL)) -o $(B)/bench/$$p \
		bench/$$p.c || exit 1; done
	$(Q)B=$(B) bash bench/bench.sh $(if $(filter bench-quick,$@),--quick)

.PHONY: bench bench-quick

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/pktstat
	install -m 0644 pktstat.1 $(DESTDIR)$(MANDIR)/pktstat.1
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	sed 's|@BINDIR@|$(BINDIR)|g' systemd/pktstat.service.in > \
		$(DESTDIR)$(UNITDIR)/pktstat.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pktstat.service
	install -m 0644 systemd/pktstat.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/pktstat.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pktstat $(DESTDIR)$(MANDIR)/pktstat.1 \
		$(DESTDIR)$(UNITDIR)/pktstat.service \
		$(DESTDIR)$(SYSUSERSDIR)/pktstat.conf

clean:
	rm -rf build

.PHONY: all bpf deps run test asan tsan check-unit fmt fmt-check install \
	uninstall clean build-tests

# Userspace objects wait for the skeletons (see "eBPF programs" above).
$(CORE_OBJS) $(B)/src/main.o $(TEST_SRCS:%.c=$(B)/%.o) \
	$(patsubst %,$(B)/%.o,$(FUZZ_DEPS)): | $(BPF_SKELS)

-include $(shell find build -name '*.d' 2>/dev/null)
