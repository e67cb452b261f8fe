/*
 * privs.c - privilege separation for snapshot files, and the drop.
 *
 * The parent (root) loop: receive a path over a unix socketpair, open
 * the temporary file with savefile_write's checks and lend its descriptor to
 * the child (SCM_RIGHTS), which writes the report straight into it; on
 * the child's commit byte, fsync and rename; reply with the status and
 * error line. It forwards SIGINT, SIGTERM, SIGHUP and
 * SIGUSR1 to the child (scripts signal the PID they started) and exits
 * with the child's status when the socket closes. Main thread only.
 */
#include "privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procres.h"
#include "say.h"

struct privs {
	int sock; /* to the privileged parent, -1 if none */
	int forked;
	uid_t uid;
	gid_t gid;
	char user[64];
	int keep_bpf; /* privs_keep_bpf */
	int procs_fd; /* the resolver's socket (PRIVS_PROCS), -1 if none */
};

/* Request header on the socket, then the path. The answer is a tag: 'F'
 * with the file's descriptor (SCM_RIGHTS), then after the child's commit
 * byte a struct privs_reply; or 'E' and the reply at once (refused). */
struct privs_req {
	uint32_t path_len;
	uint32_t flags; /* savefile_write's: SAVEFILE_NEW */
};

struct privs_reply {
	int32_t rc;
	char err[512];
	char written[4096]; /* the name the file was given */
};

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t job_stop; /* a terminal stop signal came */

/*
 * Job control as sudo does it: the parent ignores the terminal's stop
 * signals (the child restores the terminal first, then stops itself);
 * when the child has stopped, the parent stops too, so the shell sees
 * the whole job stopped, and fg's SIGCONT to the group resumes both.
 *
 * Two events, in either order: the terminal's stop signal reaching us,
 * and the child's stop (SIGCHLD). Their handlers can run in the opposite
 * order of the signals' arrival: when the second comes while this
 * process is on its way back to user space with the first (a busy
 * machine preempts it right there), the kernel pushes the second
 * handler's frame on top of the first's, and it runs first. So each
 * handler asks whether both have happened, and each runs with the
 * other's signals blocked (parent_loop), so that only one stops us.
 */
static void follow_child_stop(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	/* Follow the child only as the foreground job of a terminal, after
	 * a stop signal from that terminal (Ctrl-Z) reached us too: a
	 * SIGSTOP sent to the child alone (a debugger, a test) would stop
	 * the writer, and a SIGCONT to the child alone would leave it so. */
	if (child_pid > 0 && job_stop && isatty(STDIN_FILENO) &&
	    tcgetpgrp(STDIN_FILENO) == getpgrp() &&
	    waitid(P_PID, (id_t)child_pid, &si, WSTOPPED | WNOHANG | WNOWAIT) ==
		    0 &&
	    si.si_pid == (pid_t)child_pid && si.si_code == CLD_STOPPED) {
		job_stop = 0;
		kill(getpid(), SIGSTOP);
	}
}

/* The terminal's stop signals reach the whole job: noted, not obeyed
 * until the child has stopped. */
static void on_job_stop(int sig)
{
	int saved = errno;

	(void)sig;
	job_stop = 1;
	follow_child_stop();
	errno = saved;
}

static void on_child_change(int sig)
{
	int saved = errno;

	(void)sig;
	follow_child_stop();
	errno = saved;
}

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

struct lend_ctx {
	int sock; /* the child: the file goes there, the commit comes back */
	int lent; /* the descriptor was sent ('F') */
};

/*
 * Lend the temporary file to the child, which writes the report into it
 * directly (no copy through this process), and keep it only if the child
 * then commits ('C'): a child killed mid-report closes the socket, and a
 * cut-off report must never replace a whole one. While waiting, the pages
 * written so far are sent to the disk every few milliseconds, so the
 * fsync that follows waits for the last few only: a snapshot of a million
 * flows is a few hundred megabytes, and stop time counts.
 */
#define KICK_MS 2

static int lend_file(FILE *out, void *ctx)
{
	struct lend_ctx *c = ctx;
	char tag = 'F', commit = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &tag, 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { c->sock, POLLIN, 0 };
	struct cmsghdr *cm;
	int fd = fileno(out);
	ssize_t n;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(c->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -EPIPE;
	c->lent = 1;
	for (;;) {
		int r = poll(&pfd, 1, KICK_MS);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			break;
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	do
		n = read(c->sock, &commit, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 && commit == 'C' ? 0 : -EPIPE;
}

static int recv_req(int sock, char *path, size_t plen, int *flags)
{
	struct privs_req req;
	ssize_t n;

	do
		n = read(sock, &req, sizeof(req));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(req) || req.path_len >= plen)
		return -1;
	do
		n = read(sock, path, req.path_len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)req.path_len)
		return -1;
	path[n] = '\0';
	*flags = (int)(req.flags & REPORT_SAVE_NEW);
	return 0;
}

static void parent_loop(int sock, pid_t pid, struct procres *res)
{
	struct sigaction sa;
	char path[4096];
	int status = 0, flags = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	child_pid = pid;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGWINCH, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* the job-control handlers: none runs inside another */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTSTP);
	sigaddset(&sa.sa_mask, SIGTTIN);
	sigaddset(&sa.sa_mask, SIGTTOU);
	sigaddset(&sa.sa_mask, SIGCHLD);
	sa.sa_handler = on_job_stop;
	sigaction(SIGTSTP, &sa, NULL);
	sigaction(SIGTTIN, &sa, NULL);
	sigaction(SIGTTOU, &sa, NULL);
	sa.sa_handler = on_child_change;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	{
		/* main blocked these for its own threads; the parent handles
		 * them by forwarding */
		sigset_t all;

		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
	}
	while (recv_req(sock, path, sizeof(path), &flags) == 0) {
		struct privs_reply rep;
		struct lend_ctx lc = { sock, 0 };

		memset(&rep, 0, sizeof(rep));
		rep.rc = savefile_write(path, flags, lend_file, &lc,
					rep.written, sizeof(rep.written),
					rep.err, sizeof(rep.err));
		if (!lc.lent) {
			/* refused before the file was lent */
			char tag = 'E';

			while (write(sock, &tag, 1) < 0 && errno == EINTR)
				;
		}
		while (write(sock, &rep, sizeof(rep)) < 0 && errno == EINTR)
			;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* the child's end of its socket is closed: the resolver has ended
	 * or ends now */
	procres_stop(res);
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int privs_fork(struct privs **pp, const char *user, unsigned int flags,
	       char *err, size_t errlen)
{
	struct privs *p = calloc(1, sizeof(*p));
	int sv[2], pv[2] = { -1, -1 };
	pid_t pid;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->sock = -1;
	p->procs_fd = -1;
	*pp = p;
	if (geteuid() != 0)
		return 0;
	if (!user)
		user = "nobody";
	if (strcmp(user, "root") == 0)
		return 0;
	{
		struct passwd *pw = getpwnam(user);

		if (!pw) {
			snprintf(err, errlen, "-Z %s: no such user", user);
			return -ENOENT;
		}
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
		snprintf(p->user, sizeof(p->user), "%s", user);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	if ((flags & PRIVS_PROCS) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pv) < 0)
		pv[0] = pv[1] = -1; /* no processes named: not fatal */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		if (pv[0] >= 0) {
			close(pv[0]);
			close(pv[1]);
		}
		return -errno;
	}
	if (pid > 0) {
		close(sv[1]);
		struct procres *res = NULL;

		if (pv[0] >= 0) {
			char rerr[256], warn[256];

			close(pv[1]);
			/* its own thread, all signals blocked; it ends
			 * with the child's end of the socket */
			res = procres_start(
				pv[0],
				flags & PRIVS_PROCS_EBPF ? PROCRES_EBPF : 0,
				warn, sizeof(warn), rerr, sizeof(rerr));
			if (!res)
				say_line(rerr);
			else if (warn[0] && (flags & PRIVS_PROCS_EBPF_ASKED))
				say_line(warn);
		}
		parent_loop(sv[0], pid, res);
	}
	close(sv[0]);
	if (pv[0] >= 0)
		close(pv[0]);
	p->procs_fd = pv[1];
	p->sock = sv[1];
	p->forked = 1;
	return 0;
}

int privs_procs_fd(struct privs *p)
{
	int fd = p ? p->procs_fd : -1;

	if (p)
		p->procs_fd = -1;
	return fd;
}

void privs_keep_bpf(struct privs *p)
{
	p->keep_bpf = 1;
}

/* After capng_clear: the capabilities the run keeps (privs_keep_bpf). */
static void keep_caps(const struct privs *p)
{
	if (!p->keep_bpf)
		return;
	capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_BPF,
		      CAP_NET_ADMIN, -1);
}

int privs_drop(struct privs *p, char *err, size_t errlen)
{
	if (p->forked) {
		capng_clear(CAPNG_SELECT_BOTH);
		keep_caps(p);
		if (capng_change_id((int)p->uid, (int)p->gid,
				    CAPNG_DROP_SUPP_GRP |
					    CAPNG_CLEAR_BOUNDING) != 0) {
			snprintf(err, errlen, "-Z %s: cannot switch user",
				 p->user);
			return -EPERM;
		}
		/* The writer parent gone means nobody can save our work;
		 * end rather than run on unseen. Set after the id change,
		 * which clears it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			raise(SIGTERM);
	} else if (capng_have_capabilities(CAPNG_SELECT_CAPS) > CAPNG_NONE &&
		   geteuid() != 0) {
		capng_clear(CAPNG_SELECT_BOTH);
		keep_caps(p);
		if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
			snprintf(err, errlen, "cannot drop capabilities");
			return -EPERM;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The parent's answer tag, with the lent file's descriptor for 'F'
 * (-1 otherwise). -1 when the parent is gone. */
static int recv_tag(int sock, char *tag, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { tag, 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (*tag == 'F' && *fd < 0)
		return -1;
	if (*tag != 'F' && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return 0;
}

int privs_write_report(struct privs *p, const char *path, int flags,
		       struct snapshot *s, const struct report_meta *m,
		       char *written, size_t wlen, char *err, size_t errlen)
{
	struct privs_req req;
	struct privs_reply rep;
	struct report_meta mm = *m;
	int fd, rc = 0;
	char tag;
	size_t got = 0;

	if (!p || p->sock < 0)
		return report_write_file(path, flags, s, m, written, wlen, err,
					 errlen);
	if (strlen(path) >= 4096) {
		snprintf(err, errlen, "%.64s...: file name too long", path);
		return -ENAMETOOLONG;
	}
	req.path_len = (uint32_t)strlen(path);
	req.flags = (uint32_t)flags;
	if (write(p->sock, &req, sizeof(req)) != (ssize_t)sizeof(req) ||
	    write(p->sock, path, req.path_len) != (ssize_t)req.path_len ||
	    recv_tag(p->sock, &tag, &fd) < 0) {
		snprintf(err, errlen, "%s: snapshot writer gone", path);
		return -EPIPE;
	}
	if (tag == 'F') {
		/* the parent's temporary file, written straight into */
		FILE *f = fdopen(fd, "w");
		char commit;

		if (!f) {
			close(fd);
			rc = -ENOMEM;
		} else {
			mm.path = path;
			rc = report_write(f, report_format_for(path), s, &mm);
			if (rc == -EIO && errno)
				rc = -errno; /* say, no space left */
			if (fclose(f) != 0 && rc == 0)
				rc = errno ? -errno : -EIO;
		}
		commit = rc == 0 ? 'C' : 'A';
		if (write(p->sock, &commit, 1) != 1) {
			snprintf(err, errlen, "%s: snapshot writer gone", path);
			return -EPIPE;
		}
	}
	while (got < sizeof(rep)) {
		ssize_t n =
			read(p->sock, (char *)&rep + got, sizeof(rep) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: snapshot writer gone", path);
			return -EPIPE;
		}
		got += (size_t)n;
	}
	if (rc) { /* our own write failed: its reason, not the abort's */
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (rep.rc) {
		rep.err[sizeof(rep.err) - 1] = '\0';
		snprintf(err, errlen, "%s", rep.err);
		return rep.rc;
	}
	rep.written[sizeof(rep.written) - 1] = '\0';
	if (written && wlen)
		snprintf(written, wlen, "%s", rep.written);
	return 0;
}

void privs_free(struct privs *p)
{
	if (!p)
		return;
	if (p->sock >= 0)
		close(p->sock);
	if (p->procs_fd >= 0)
		close(p->procs_fd);
	free(p);
}
