/*
 * procs_bpf.c - loads bpf/procs.bpf.c, attaches it to the cgroup v2 root
 * and drains its records (see procs_bpf.h). One thread: the resolver's.
 */
#include "procs_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bpf/procs.h"
#include "procs.skel.h"

struct procs_bpf_ctx {
	struct procs_bpf *skel;
	struct bpf_link *links[3];
	int cgfd;
};

static int pb_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int procs_bpf_cgroup_root(const char *mi, size_t len, char *out, size_t outlen)
{
	const char *p = mi, *end = mi + len;

	/* "36 35 0:30 / /sys/fs/cgroup/unified rw,... - cgroup2 cgroup2 rw":
	 * the mount point is field 5, the type follows " - " */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *f = p, *dash;
		int field = 0;
		size_t n = (size_t)(le - p);

		dash = n > 3 ? memmem(p, n, " - cgroup2 ", 11) : NULL;
		while (dash && f < le && field < 4) {
			const char *sp = memchr(f, ' ', (size_t)(le - f));

			if (!sp)
				break;
			f = sp + 1;
			field++;
		}
		if (dash && field == 4) {
			const char *sp = memchr(f, ' ', (size_t)(le - f));
			size_t m = sp ? (size_t)(sp - f) : 0;

			if (m && m < outlen) {
				memcpy(out, f, m);
				out[m] = '\0';
				return 0;
			}
		}
		p = le + 1;
	}
	return -ENOENT;
}

static int root_in(const char *mountinfo, const char *prefix, char *out,
		   size_t outlen)
{
	char buf[32768], mnt[200];
	ssize_t n;
	int fd = open(mountinfo, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	if (procs_bpf_cgroup_root(buf, (size_t)n, mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(out, outlen, "%s%s", prefix, mnt);
	return 0;
}

/* Our mount namespace's cgroup v2 mount, else init's through
 * /proc/1/root (ip netns exec mounts a /sys of its own, without it). */
static int find_root(char *out, size_t outlen)
{
	if (root_in("/proc/self/mountinfo", "", out, outlen) == 0)
		return 0;
	return root_in("/proc/1/mountinfo", "/proc/1/root", out, outlen);
}

struct procs_bpf_ctx *procs_bpf_open(char *err, size_t errlen)
{
	struct procs_bpf_ctx *pb = calloc(1, sizeof(*pb));
	char root[256];
	struct bpf_program *progs[3];
	int rc;

	if (!pb) {
		snprintf(err, errlen, "eBPF attributor: out of memory");
		return NULL;
	}
	pb->cgfd = -1;
	if (find_root(root, sizeof(root))) {
		snprintf(err, errlen, "eBPF attributor: no cgroup v2 mount");
		goto fail;
	}
	pb->cgfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pb->cgfd < 0) {
		snprintf(err, errlen, "eBPF attributor: %s: %s", root,
			 strerror(errno));
		goto fail;
	}
	libbpf_set_print(pb_quiet);
	pb->skel = procs_bpf__open_and_load();
	if (!pb->skel) {
		snprintf(err, errlen, "eBPF attributor: cannot load: %s",
			 strerror(errno));
		goto fail;
	}
	progs[0] = pb->skel->progs.pa_sock_create;
	progs[1] = pb->skel->progs.pa_egress;
	progs[2] = pb->skel->progs.pa_ingress;
	for (int i = 0; i < 3; i++) {
		pb->links[i] = bpf_program__attach_cgroup(progs[i], pb->cgfd);
		rc = libbpf_get_error(pb->links[i]);
		if (rc) {
			pb->links[i] = NULL;
			snprintf(err, errlen,
				 "eBPF attributor: cannot attach to %s: %s",
				 root, strerror(-rc));
			goto fail;
		}
	}
	return pb;
fail:
	procs_bpf_close(pb);
	return NULL;
}

size_t procs_bpf_drain(struct procs_bpf_ctx *pb, procs_bpf_fn fn, void *arg)
{
	int fd = bpf_map__fd(pb->skel->maps.seen);
	struct pa_key k, next;
	struct pa_val v;
	size_t n = 0;
	int have = 0;

	/* each record is looked up and deleted; the walk restarts from the
	 * beginning after a delete (the deleted key is no anchor) */
	while (n < PA_SEEN_MAX &&
	       bpf_map_get_next_key(fd, have ? &k : NULL, &next) == 0) {
		struct procres_sock s;

		k = next;
		have = 1;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		bpf_map_delete_elem(fd, &k);
		have = 0;
		memset(&s, 0, sizeof(s));
		memcpy(s.laddr, k.laddr, 16);
		memcpy(s.raddr, k.raddr, 16);
		s.lport = k.lport;
		s.rport = k.rport;
		s.ipproto = k.proto;
		s.family = k.family;
		s.uid = v.uid;
		v.comm[sizeof(v.comm) - 1] = '\0';
		fn(arg, &s, (int32_t)v.tgid, v.comm);
		n++;
	}
	return n;
}

void procs_bpf_close(struct procs_bpf_ctx *pb)
{
	if (!pb)
		return;
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(pb->links[i]);
	procs_bpf__destroy(pb->skel);
	if (pb->cgfd >= 0)
		close(pb->cgfd);
	free(pb);
}
