/*
 * procs_bpf.c - loads bpf/procs.bpf.c, attaches it to the cgroup v2 root
 * (a mount of it in our mount namespace, else one of our own) and drains
 * its records (see procs_bpf.h). One thread: the resolver's.
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
#include <sys/mount.h>
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

/*
 * A cgroup v2 mount of our own, attached nowhere (the new mount API, Linux
 * 5.2; needs CAP_SYS_ADMIN): its root is the hierarchy's root as our
 * cgroup namespace sees it, the same cgroup a mount of it in /sys names.
 * For when our mount namespace has none: ip netns exec unmounts /sys and
 * mounts a sysfs of the network namespace there, without /sys/fs/cgroup.
 * The directory descriptor, or -errno; the mount goes when it is closed.
 */
static int private_root(void)
{
	int fs, mnt, fd, e;

	fs = fsopen("cgroup2", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		e = -errno;
		close(fs);
		return e;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	e = -errno;
	close(fs);
	if (mnt < 0)
		return e;
	fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = -errno;
	close(mnt);
	return fd < 0 ? e : fd;
}

/*
 * The cgroup v2 root, open (its name in @out): our mount namespace's
 * mount, else a private mount of it, else init's through /proc/1/root
 * (when mounting is not allowed; ptrace rules may refuse that too). -1
 * with the reason in @out.
 */
static int open_root(char *out, size_t outlen)
{
	int fd;

	if (root_in("/proc/self/mountinfo", "", out, outlen) == 0) {
		fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	fd = private_root();
	if (fd >= 0) {
		snprintf(out, outlen, "cgroup2 (private mount)");
		return fd;
	}
	if (root_in("/proc/1/mountinfo", "/proc/1/root", out, outlen) == 0) {
		int fd1 = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd1 >= 0)
			return fd1;
	}
	snprintf(out, outlen,
		 "no cgroup v2 mount here, and none could be made: %s",
		 strerror(-fd));
	return -1;
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
	pb->cgfd = open_root(root, sizeof(root));
	if (pb->cgfd < 0) {
		snprintf(err, errlen, "eBPF attributor: %s", root);
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
