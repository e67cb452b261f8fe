#!/bin/bash
# The libFuzzer targets (fuzz/README) for a bounded smoke run inside
# make test: `make fuzz FUZZ_SECONDS=30 FUZZ_JOBS=2` builds them with clang
# (ASan + UBSan) and runs each for 30 s, two side by side (the machine has
# two cores; each target still gets its full 30 s). Passes only when each
# target ran at least 30 s, executed inputs, reached coverage, and left no
# finding; prints each target's runs, coverage (cov: edges, ft: features),
# corpus size and findings. FUZZ_SMOKE_SECONDS overrides the 30 s; longer
# runs: make fuzz (fuzz/RESULTS.md).
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
SECS=${FUZZ_SMOKE_SECONDS:-30}
TARGETS="fuzz_decode fuzz_flowtab fuzz_pcapfile fuzz_proto fuzz_cbpf fuzz_app fuzz_procs"

# clang's libFuzzer runtime is a separate Debian package (libclang-rt-dev,
# installed by make deps): say so plainly if it is missing
cat > "$TMP/t.c" << 'EOF'
int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)
{
	(void)d;
	(void)n;
	return 0;
}
EOF
if clang -fsanitize=fuzzer -o "$TMP/t" "$TMP/t.c" 2> "$TMP/link.err"; then
	ok "clang -fsanitize=fuzzer links"
else
	not_ok "clang -fsanitize=fuzzer links (make deps installs clang and libclang-rt-dev)"
	head -3 "$TMP/link.err"
	finish
	exit 1
fi

t0=$(date +%s)
make --no-print-directory -j"$(nproc)" fuzz FUZZ_SECONDS="$SECS" FUZZ_JOBS=2 \
	FUZZ_TARGETS="$TARGETS" > "$TMP/fuzz.out" 2>&1
rc=$?
t1=$(date +%s)
sed -n '/^== fuzz summary/,$p' "$TMP/fuzz.out" | sed 's/^/# /'
echo "# make fuzz: $((t1 - t0)) s wall (build included), exit $rc"
check "make fuzz: exit 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -20 "$TMP/fuzz.out" | sed 's/^/# | /'
for t in $TARGETS; do
	# "T: ok, RUNS runs in SECS s (RATE/s), cov C, ft F, corpus K, N new
	# findings" ("?" where libFuzzer printed nothing, "FAIL (...)" for ok)
	line=$(grep "^$t: " "build/fuzz-logs/$t.line" 2> /dev/null)
	fig() { sed -n "s/.*[ ,]\([0-9][0-9]*\) $1.*/\1/p" <<< "$line"; }
	runs=$(fig 'runs in'); new=$(fig 'new findings')
	secs=$(sed -n 's/.* runs in \([0-9]*\) s .*/\1/p' <<< "$line")
	cov=$(sed -n 's/.*, cov \([0-9]*\),.*/\1/p' <<< "$line")
	ft=$(sed -n 's/.*, ft \([0-9]*\),.*/\1/p' <<< "$line")
	check "$t: finished ok (${line%%,*})" test "${line#$t: ok,}" != "$line"
	check "$t: ran ${secs:-?} s (>= $SECS)" test "${secs:-0}" -ge "$SECS"
	check "$t: executed ${runs:-0} inputs (> 0)" test "${runs:-0}" -gt 0
	check "$t: coverage ${cov:-0} edges, ${ft:-0} features (> 0)" test "${cov:-0}" -gt 0 -a "${ft:-0}" -gt 0
	check "$t: ${new:-?} new findings (0)" test "${new:-1}" -eq 0
done
finish
