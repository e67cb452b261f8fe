/*
 * ebpf.h - what the eBPF backend offers beside its cap_ops: running a
 * translated capture filter on one frame (BPF_PROG_TEST_RUN), for the
 * translation-equivalence tests. No libbpf or libpcap types here.
 */
#ifndef PKTSTAT_EBPF_H
#define PKTSTAT_EBPF_H

#include <stddef.h>
#include <stdint.h>

struct bpf_program;

/*
 * ebpf_filter_load_test - translate @prog (pcap_compile's) and load it
 * as a test program: a tc program when @xdp is 0, else XDP, returning
 * the classic verdict. Returns a program fd (close it), or -errno with
 * one line in @err (-EINVAL: not translatable; -EPERM: no privilege).
 */
int ebpf_filter_load_test(const struct bpf_program *prog, int xdp, char *err,
			  size_t errlen);

/*
 * ebpf_filter_run_test - run program @fd on one frame of @caplen bytes
 * whose wire length was @wirelen. Returns 1 (accepted), 0 (rejected) or
 * -errno (the kernel refused the run, e.g. a frame shorter than 14 bytes
 * for a tc program).
 */
int ebpf_filter_run_test(int fd, const uint8_t *data, uint32_t caplen,
			 uint32_t wirelen);

#endif
