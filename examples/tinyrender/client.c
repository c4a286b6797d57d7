// SPDX-License-Identifier: GPL-2.0
/*
 * tinyrender-client: a real process driving tinyrender through libdrm.
 *
 * Run under pyforlinux's device-node bridge (umockdev's preload + FUSE),
 * e.g. `pyforlinux run examples/tinyrender --exec -- build/tools/tinyrender-client`.
 * One line per step; exit status 0 only if every check passed.
 *
 *   tinyrender-client           the session: two objects, FILL then COPY
 *                               chained by syncobjs, drmSyncobjWait, mmap
 *                               and check the bytes
 *   tinyrender-client misuse    misuse answered with the kernel's errnos
 *   tinyrender-client prime     PRIME in one process: export an object
 *                               (drmPrimeHandleToFD), import it back
 *                               (drmPrimeFDToHandle: the same handle), a job
 *                               writes through one handle, mmap reads the other
 *   tinyrender-client prime2    PRIME across two processes: a child gets the
 *                               dma-buf fd over a socket, imports and maps
 *                               it; the parent (the exporter) closes its
 *                               file; the child still reads the bytes and
 *                               its own job writes the buffer
 *   tinyrender-client loop N    N FILL+COPY rounds (the soak's client)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include "tinyrender_drm.h"

#define NODE "/dev/dri/renderD128"
#define SIZE (3 * 4096)

static int failures;

static void check(int ok, const char *fmt, const char *what)
{
	printf("client(C): %s: %s\n", what, ok ? fmt : "FAILED");
	if (!ok)
		failures++;
}

static int64_t deadline_ns(int64_t from_now)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + from_now;
}

static int bo_create(int fd, uint32_t *handle)
{
	struct drm_tinyrender_bo_create c = { .size = SIZE };

	if (drmIoctl(fd, DRM_IOCTL_TINYRENDER_BO_CREATE, &c))
		return -errno;
	*handle = c.handle;
	return 0;
}

static void *bo_map(int fd, uint32_t handle)
{
	struct drm_tinyrender_bo_info i = { .handle = handle };
	void *p;

	if (drmIoctl(fd, DRM_IOCTL_TINYRENDER_BO_INFO, &i))
		return NULL;
	/*
	 * The bridge's node is a FUSE file whose mmap goes through the page
	 * cache: drop pages cached by an earlier mapping, so the engine's
	 * writes since are read (a real driver's CPU_PREP/cache invalidation).
	 */
	posix_fadvise(fd, i.mmap_offset, i.size, POSIX_FADV_DONTNEED);
	p = mmap(NULL, i.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, i.mmap_offset);
	return p == MAP_FAILED ? NULL : p;
}

/* SUBMIT @op; in-syncobj @in (0: none), out-syncobj @out (0: none). */
static int submit(int fd, uint32_t op, uint32_t dst, uint64_t dst_off, uint32_t src,
		  uint64_t src_off, uint64_t size, uint32_t value, uint32_t in, uint32_t out)
{
	struct drm_tinyrender_submit s = {
		.op = op, .dst_handle = dst, .dst_offset = dst_off, .src_handle = src,
		.src_offset = src_off, .size = size, .value = value,
		.in_syncobjs = (uintptr_t)&in, .in_syncobj_count = in ? 1 : 0, .out_syncobj = out,
	};

	return drmIoctl(fd, DRM_IOCTL_TINYRENDER_SUBMIT, &s) ? -errno : 0;
}

static int wait_one(int fd, uint32_t syncobj, int64_t timeout_ns, uint32_t flags)
{
	int ret = drmSyncobjWait(fd, &syncobj, 1, deadline_ns(timeout_ns), flags, NULL);

	return ret < 0 && ret != -1 ? ret : (ret ? -errno : 0);
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static int session(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);
	uint32_t a, b, s1, s2;
	unsigned char *m;

	check(v && !strcmp(v->name, "tinyrender"), "tinyrender", "drmGetVersion");
	drmFreeVersion(v);
	check(!bo_create(fd, &a) && !bo_create(fd, &b), "ok", "BO_CREATE x2");
	check(!drmSyncobjCreate(fd, 0, &s1) && !drmSyncobjCreate(fd, 0, &s2), "ok",
	      "drmSyncobjCreate x2");
	check(!submit(fd, TINYRENDER_OP_FILL, a, 0, 0, 0, SIZE, 0xa5, 0, s1), "ok",
	      "SUBMIT fill(A, 0xa5) -> s1");
	check(!submit(fd, TINYRENDER_OP_COPY, b, 4096, a, 0, 4096, 0, s1, s2), "ok",
	      "SUBMIT copy(A -> B+4096) after s1 -> s2");
	check(!wait_one(fd, s2, 5000000000LL, 0), "signalled", "drmSyncobjWait(s2)");
	m = bo_map(fd, b);
	check(m && all_bytes(m, 4096, 0) && all_bytes(m + 4096, 4096, 0xa5) &&
	      all_bytes(m + 8192, 4096, 0), "zeros, 4096 x 0xa5, zeros", "mmap(B)");
	if (m)
		munmap(m, SIZE);
	drmSyncobjDestroy(fd, s1);
	drmSyncobjDestroy(fd, s2);
	return 0;
}

/* Misuse: the kernel's answers, and the client goes on. */
static int misuse(int fd)
{
	uint32_t a, s3;
	int ret;

	check(!bo_create(fd, &a), "ok", "BO_CREATE(A)");
	check(!drmSyncobjCreate(fd, 0, &s3), "ok", "drmSyncobjCreate(s3, never signalled)");
	ret = wait_one(fd, s3, 10000000, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT);
	check(ret == -ETIME, "ETIME", "drmSyncobjWait(s3, 10 ms, WAIT_FOR_SUBMIT)");
	ret = submit(fd, TINYRENDER_OP_FILL, a, 0, 0, 0, SIZE, 1, 999, 0);
	check(ret == -ENOENT, "ENOENT", "SUBMIT with in-syncobj 999");
	ret = submit(fd, TINYRENDER_OP_FILL, a, 0, 0, 0, SIZE, 1, s3, 0);
	check(ret == -EINVAL, "EINVAL", "SUBMIT after a syncobj without a fence");
	ret = submit(fd, TINYRENDER_OP_FILL, a, 8192, 0, 0, 8192, 1, 0, 0);
	check(ret == -EINVAL, "EINVAL", "SUBMIT past the end of A");
	{
		struct drm_tinyrender_submit s = {
			.op = TINYRENDER_OP_FILL, .dst_handle = a, .size = 1,
			.in_syncobjs = 8, .in_syncobj_count = 1,
		};
		ret = drmIoctl(fd, DRM_IOCTL_TINYRENDER_SUBMIT, &s) ? -errno : 0;
		check(ret == -EFAULT, "EFAULT", "SUBMIT with a bad in_syncobjs pointer");
	}
	drmSyncobjDestroy(fd, s3);
	return 0;
}

static int prime(int fd)
{
	uint32_t a, imported = 0, s1;
	int dmabuf = -1;
	unsigned char *m;

	check(!bo_create(fd, &a), "ok", "BO_CREATE(A)");
	check(!drmPrimeHandleToFD(fd, a, DRM_CLOEXEC | DRM_RDWR, &dmabuf) && dmabuf >= 0, "a dma-buf fd",
	      "drmPrimeHandleToFD(A)");
	check(!drmPrimeFDToHandle(fd, dmabuf, &imported) && imported == a, "the same handle",
	      "drmPrimeFDToHandle");
	check(!drmSyncobjCreate(fd, 0, &s1), "ok", "drmSyncobjCreate");
	check(!submit(fd, TINYRENDER_OP_FILL, imported, 0, 0, 0, SIZE, 0x3c, 0, s1) &&
	      !wait_one(fd, s1, 5000000000LL, 0), "signalled", "SUBMIT fill(imported, 0x3c), wait");
	m = bo_map(fd, a);
	check(m && all_bytes(m, SIZE, 0x3c), "0x3c everywhere", "mmap(A)");
	if (m)
		munmap(m, SIZE);
	{
		int pipefd[2], ret = pipe(pipefd);

		check(!ret && drmPrimeFDToHandle(fd, pipefd[0], &imported) && errno == EINVAL,
		      "EINVAL", "drmPrimeFDToHandle(a pipe: not a dma-buf)");
		if (!ret) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
	}
	if (dmabuf >= 0)
		close(dmabuf);
	drmSyncobjDestroy(fd, s1);
	return 0;
}

static int send_fd(int sock, int fd)
{
	char c = 0, buf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			      .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			      .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1 || !(cm = CMSG_FIRSTHDR(&msg)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * The child: its own file; the buffer comes as the parent's dma-buf fd. It
 * maps the dma-buf, the parent then closes its file (the exporter), and
 * the buffer lives on: the child's mapping still reads the parent's bytes,
 * and a job of the child's on its imported handle writes it.
 */
static int importer(int sock)
{
	int fd = open(NODE, O_RDWR | O_CLOEXEC), dmabuf = recv_fd(sock);
	unsigned char *m, *n;
	uint32_t h = 0, s;
	char ok = 0, closed = 0;

	check(fd >= 0 && dmabuf >= 0, "ok", "child: open, dma-buf fd received");
	check(!drmPrimeFDToHandle(fd, dmabuf, &h) && h, "a handle", "child: drmPrimeFDToHandle");
	m = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, dmabuf, 0);
	check(m != MAP_FAILED, "ok", "child: mmap(dma-buf)");
	ok = 1;
	if (write(sock, &ok, 1) != 1 || read(sock, &closed, 1) != 1 || !closed)
		check(0, "", "child: the parent closing its file");
	check(m != MAP_FAILED && all_bytes(m, SIZE, 0x11), "the parent's 0x11",
	      "child: the mapping after the exporter closed");
	check(!drmSyncobjCreate(fd, 0, &s), "ok", "child: drmSyncobjCreate");
	check(!submit(fd, TINYRENDER_OP_FILL, h, 4096, 0, 0, 4096, 0x77, 0, s) &&
	      !wait_one(fd, s, 5000000000LL, 0), "signalled", "child: SUBMIT fill(+4096, 0x77), wait");
	n = bo_map(fd, h);
	check(n && all_bytes(n, 4096, 0x11) && all_bytes(n + 4096, 4096, 0x77), "0x11, 0x77",
	      "child: mmap(imported)");
	if (n)
		munmap(n, SIZE);
	if (m != MAP_FAILED)
		munmap(m, SIZE);
	close(dmabuf);
	close(fd);
	return failures ? 1 : 0;
}

static int prime2(int fd)
{
	int sv[2], dmabuf = -1, status = 0;
	uint32_t a, s;
	char ok = 0, closed = 1;
	pid_t pid;

	check(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "ok", "socketpair");
	check(!bo_create(fd, &a) && !drmSyncobjCreate(fd, 0, &s), "ok", "parent: BO_CREATE(A)");
	check(!submit(fd, TINYRENDER_OP_FILL, a, 0, 0, 0, SIZE, 0x11, 0, s) &&
	      !wait_one(fd, s, 5000000000LL, 0), "signalled", "parent: SUBMIT fill(A, 0x11), wait");
	check(!drmPrimeHandleToFD(fd, a, DRM_CLOEXEC | DRM_RDWR, &dmabuf), "ok",
	      "parent: drmPrimeHandleToFD(A)");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		exit(importer(sv[1]));
	}
	close(sv[1]);
	check(!send_fd(sv[0], dmabuf), "sent", "parent: dma-buf fd over the socket");
	check(read(sv[0], &ok, 1) == 1 && ok, "mapped", "parent: the child imported and mapped");
	close(dmabuf);
	close(fd);  /* the exporting file goes while the importer maps the buffer */
	check(write(sv[0], &closed, 1) == 1, "closed", "parent: its file and dma-buf fd");
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && !WEXITSTATUS(status), "exit 0", "child");
	close(sv[0]);
	return 0;
}

static int loop(int fd, int n)
{
	uint32_t a, b, s1, s2;

	if (bo_create(fd, &a) || bo_create(fd, &b) || drmSyncobjCreate(fd, 0, &s1) ||
	    drmSyncobjCreate(fd, 0, &s2)) {
		check(0, "", "loop setup");
		return 0;
	}
	for (int i = 0; i < n && !failures; i++) {
		unsigned char v = (unsigned char)(i + 1);
		unsigned char *m;

		if (submit(fd, TINYRENDER_OP_FILL, a, 0, 0, 0, SIZE, v, 0, s1) ||
		    submit(fd, TINYRENDER_OP_COPY, b, 0, a, 0, SIZE, 0, s1, s2) ||
		    wait_one(fd, s2, 10000000000LL, 0)) {
			check(0, "", "loop round");
			break;
		}
		m = bo_map(fd, b);
		if (!m || !all_bytes(m, SIZE, v))
			check(0, "", "loop read-back");
		if (m)
			munmap(m, SIZE);
	}
	printf("client(C): %d rounds: %s\n", n, failures ? "FAILED" : "ok");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "session";
	int fd = open(NODE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("client(C): open %s: FAILED (%s)\n", NODE, strerror(errno));
		return 1;
	}
	printf("client(C): open %s\n", NODE);
	if (!strcmp(mode, "session"))
		session(fd);
	else if (!strcmp(mode, "misuse"))
		misuse(fd);
	else if (!strcmp(mode, "prime"))
		prime(fd);
	else if (!strcmp(mode, "prime2"))
		prime2(fd);
	else if (!strcmp(mode, "loop") && argc > 2)
		loop(fd, atoi(argv[2]));
	else {
		printf("usage: %s [session|misuse|prime|prime2|loop N]\n", argv[0]);
		return 2;
	}
	close(fd);
	printf("client(C): %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
