// SPDX-License-Identifier: GPL-2.0
/*
 * prime-client: PRIME between two real processes, through libdrm, against
 * Nova served by pyforlinux's device-node bridge. Started through
 * tools/pfl-launch (the dma-buf fds are then real descriptors).
 *
 * The exporter creates an object, writes a pattern through its mapping,
 * drmPrimeHandleToFD()s it and maps the dma-buf fd itself; imports of a
 * pipe (EINVAL) and of a closed descriptor (EBADF) fail as the kernel says.
 * It fork()s an importer that opens its own DRM file, receives the dma-buf
 * fd over a socketpair (SCM_RIGHTS), drmPrimeFDToHandle()s it and maps the
 * object: same bytes. The exporter then unmaps and closes everything; the
 * importer still writes and reads the buffer through its mapping and
 * through the dma-buf fd. One line per step; exit status 0 if every step
 * gave what the kernel would.
 *
 *   prime-client         the session
 *   prime-client hold    export, map the dma-buf fd, then sleep (to be killed)
 *   prime-client syncobj syncobj fds instead, on /dev/dri/renderD128 of any
 *                        driver with DRIVER_SYNCOBJ: a syncobj fd and a
 *                        sync_file fd pass to a forked process and are
 *                        imported there; a pipe is refused (EINVAL)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>
#include "nova_drm.h"

#define SIZE (2 * 4096)

static const char *who = "exporter";

static int fail(const char *what)
{
	printf("prime(%s): %s: FAILED (%s)\n", who, what, strerror(errno));
	fflush(stdout);
	return 1;
}

static int open_primary(void)
{
	drmDevicePtr devs[8];
	int n = drmGetDevices2(0, devs, 8), fd = -1;

	for (int i = 0; i < n && fd < 0; i++)
		if (devs[i]->available_nodes & (1 << DRM_NODE_PRIMARY))
			fd = open(devs[i]->nodes[DRM_NODE_PRIMARY], O_RDWR | O_CLOEXEC);
	if (n > 0)
		drmFreeDevices(devs, n);
	return fd;
}

/* A mapping of handle's object through the DRM file fd (MODE_MAP_DUMB offset). */
static unsigned char *map_handle(int fd, uint32_t handle)
{
	struct drm_mode_map_dumb map = { .handle = handle };

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map))
		return MAP_FAILED;
	return mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map.offset);
}

static int check(const unsigned char *p, int seed)
{
	for (int i = 0; i < SIZE; i++)
		if (p[i] != (unsigned char)(i * 13 + seed))
			return 0;
	return 1;
}

static void fill(unsigned char *p, int seed)
{
	for (int i = 0; i < SIZE; i++)
		p[i] = (unsigned char)(i * 13 + seed);
}

static int send_fd(int sock, int fd)
{
	char c = 'F', buf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, buf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static int wait_byte(int sock)
{
	char c;

	return read(sock, &c, 1) == 1 ? 0 : -1;
}

/* Store a pattern through mapping w, write it back (msync), unmap; then a
 * fresh mapping of the object through the DRM file fd (clean pages dropped). */
static unsigned char *store_and_remap(unsigned char *w, int seed, int fd, uint32_t h)
{
	fill(w, seed);
	if (msync(w, SIZE, MS_SYNC))
		return MAP_FAILED;
	munmap(w, SIZE);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return map_handle(fd, h);
}

/* Importing a pipe's fd must fail with EINVAL (not a dma-buf / syncobj file). */
static int pipe_import_refused(int fd, int (*import)(int, int, uint32_t *), const char *name)
{
	int pipefd[2], r, err;
	uint32_t h;

	if (pipe(pipefd))
		return !fail("pipe");
	errno = 0;
	r = import(fd, pipefd[0], &h);
	err = errno;
	printf("%s(exporter): %s(a pipe) -> %s\n", name,
	       import == drmPrimeFDToHandle ? "drmPrimeFDToHandle" : "drmSyncobjFDToHandle",
	       r ? strerror(err) : "a handle");
	close(pipefd[0]);
	close(pipefd[1]);
	return r && err == EINVAL;
}

/* A socketpair and a fork: the child's end in sv[1], the parent's in sv[0]. */
static pid_t fork_with_socket(int sv[2])
{
	fflush(stdout);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	return fork();
}

/* The dma-buf's fences as a sync_file fd, merged, and imported back. */
static int sync_files(int dfd)
{
	struct dma_buf_export_sync_file xs = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	struct sync_file_info info = { 0 };
	int bad = 0, pipefd[2];

	if (ioctl(dfd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &xs))
		return fail("DMA_BUF_IOCTL_EXPORT_SYNC_FILE");
	struct sync_merge_data merge = { .name = "merged", .fd2 = xs.fd, .fence = -1 };
	if (ioctl(xs.fd, SYNC_IOC_MERGE, &merge))
		return fail("SYNC_IOC_MERGE");
	if (ioctl(merge.fence, SYNC_IOC_FILE_INFO, &info))
		return fail("SYNC_IOC_FILE_INFO");
	struct dma_buf_import_sync_file is = { .flags = DMA_BUF_SYNC_WRITE, .fd = merge.fence };
	int ir = ioctl(dfd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &is);
	printf("prime(exporter): EXPORT_SYNC_FILE -> fd %d (%s); SYNC_IOC_MERGE -> fd %d: "
	       "\"%s\", status %d; IMPORT_SYNC_FILE -> %s\n", xs.fd,
	       fcntl(xs.fd, F_GETFD) & FD_CLOEXEC ? "cloexec" : "NO CLOEXEC", merge.fence,
	       info.name, info.status, ir ? strerror(errno) : "0");
	bad |= ir || info.status != 1 || strcmp(info.name, "merged");
	if (pipe(pipefd))
		return fail("pipe");
	is.fd = pipefd[0];
	errno = 0;
	int pr = ioctl(dfd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &is), perr = errno;
	printf("prime(exporter): IMPORT_SYNC_FILE(a pipe) -> %s\n", pr ? strerror(perr) : "0");
	bad |= !pr || perr != EINVAL;
	close(pipefd[0]);
	close(pipefd[1]);
	close(merge.fence);
	close(xs.fd);
	return bad;
}

static int importer(int sock)
{
	who = "importer";
	int fd = open_primary();
	if (fd < 0)
		return fail("open its own DRM node");
	int dfd = recv_fd(sock);
	if (dfd < 0)
		return fail("receive the dma-buf fd (SCM_RIGHTS)");
	uint32_t h;
	if (drmPrimeFDToHandle(fd, dfd, &h))
		return fail("drmPrimeFDToHandle");
	unsigned char *p = map_handle(fd, h);
	if (p == MAP_FAILED)
		return fail("map the imported object");
	printf("prime(importer): received fd %d, drmPrimeFDToHandle -> handle %u, mapped: %s\n",
	       dfd, h, check(p, 1) ? "same bytes" : "MISMATCH");
	fflush(stdout);
	int bad = !check(p, 1);
	if (write(sock, "m", 1) != 1 || wait_byte(sock))
		return fail("wait for the exporter to close");
	/* The exporter's DRM file, handle, mapping and dma-buf fd are gone. */
	p = store_and_remap(p, 2, fd, h);
	if (p == MAP_FAILED)
		return fail("store, msync, map again");
	/* The exporter's mapping filled the dma-buf file's page cache (shared by
	 * every descriptor of it): drop those clean pages, as for a node. */
	posix_fadvise(dfd, 0, 0, POSIX_FADV_DONTNEED);
	unsigned char *q = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, dfd, 0);
	if (q == MAP_FAILED)
		return fail("mmap the dma-buf fd");
	printf("prime(importer): after the exporter closed: wrote, read back %s, via the "
	       "dma-buf fd %s\n", check(p, 2) ? "ok" : "MISMATCH", check(q, 2) ? "ok" : "MISMATCH");
	bad |= !check(p, 2) || !check(q, 2);
	munmap(q, SIZE);
	munmap(p, SIZE);
	/* Stores through the dma-buf fd's own mapping reach the object. */
	q = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (q == MAP_FAILED)
		return fail("mmap the dma-buf fd writable");
	p = store_and_remap(q, 3, fd, h);
	if (p == MAP_FAILED)
		return fail("store through the dma-buf, msync, map the node");
	printf("prime(importer): wrote through the dma-buf fd, read through the node: %s\n",
	       check(p, 3) ? "ok" : "MISMATCH");
	bad |= !check(p, 3);
	munmap(p, SIZE);
	struct drm_gem_close cl = { .handle = h };
	if (drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl))
		return fail("GEM_CLOSE");
	close(dfd);
	close(fd);
	fflush(stdout);
	return bad;
}

/* The syncobj session: drmSyncobjHandleToFD / FDToHandle and sync_file
 * export / import between two processes, each with its own DRM file. */
static int syncobj_session(void)
{
	int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC), sv[2], bad = 0;
	uint32_t h;
	int sfd, syncfd;

	if (fd < 0)
		return fail("open /dev/dri/renderD128");
	if (drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &h))
		return fail("drmSyncobjCreate");
	if (drmSyncobjHandleToFD(fd, h, &sfd))
		return fail("drmSyncobjHandleToFD");
	if (drmSyncobjExportSyncFile(fd, h, &syncfd))
		return fail("drmSyncobjExportSyncFile");
	printf("syncobj(exporter): handle %u -> syncobj fd %d, sync_file fd %d\n", h, sfd, syncfd);
	bad |= !pipe_import_refused(fd, drmSyncobjFDToHandle, "syncobj");
	pid_t child = fork_with_socket(sv);
	if (child < 0)
		return fail("socketpair/fork");
	if (child == 0) {
		who = "importer";
		close(fd);
		close(sfd);
		close(syncfd);
		int f2 = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
		int got = recv_fd(sv[1]), gotsync = recv_fd(sv[1]);
		uint32_t a, b;
		if (f2 < 0 || got < 0 || gotsync < 0)
			_exit(fail("open / receive"));
		if (drmSyncobjFDToHandle(f2, got, &a))
			_exit(fail("drmSyncobjFDToHandle"));
		if (drmSyncobjCreate(f2, 0, &b) || drmSyncobjImportSyncFile(f2, b, gotsync))
			_exit(fail("drmSyncobjImportSyncFile"));
		uint32_t both[2] = { a, b };
		int w = drmSyncobjWait(f2, both, 2, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL);
		printf("syncobj(importer): imported handle %u and the sync_file into %u; "
		       "wait for both -> %s\n", a, b, w ? strerror(errno) : "signalled");
		fflush(stdout);
		_exit(w != 0);
	}
	if (send_fd(sv[0], sfd) || send_fd(sv[0], syncfd))
		return fail("send the fds");
	close(sfd);
	close(syncfd);
	drmSyncobjDestroy(fd, h);
	close(fd);
	int status;
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid");
	bad |= !WIFEXITED(status) || WEXITSTATUS(status);
	printf("syncobj: %s\n", bad ? "FAILED" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "syncobj"))
		return syncobj_session();
	int fd = open_primary(), bad = 0, sv[2];

	if (fd < 0)
		return fail("open DRM node");
	struct drm_nova_gem_create c = { .size = SIZE };
	if (drmIoctl(fd, DRM_IOCTL_NOVA_GEM_CREATE, &c))
		return fail("NOVA_GEM_CREATE");
	unsigned char *p = map_handle(fd, c.handle);
	if (p == MAP_FAILED)
		return fail("map the object");
	fill(p, 1);
	if (msync(p, SIZE, MS_SYNC))
		return fail("msync");

	int dfd;
	if (drmPrimeHandleToFD(fd, c.handle, DRM_CLOEXEC | DRM_RDWR, &dfd))
		return fail("drmPrimeHandleToFD");
	int fdflags = fcntl(dfd, F_GETFD);
	unsigned char *q = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, dfd, 0);
	if (q == MAP_FAILED)
		return fail("mmap the dma-buf fd");
	printf("prime(exporter): drmPrimeHandleToFD(handle %u) -> fd %d (%s), its mmap: %s\n",
	       c.handle, dfd, fdflags & FD_CLOEXEC ? "cloexec" : "NO CLOEXEC",
	       check(q, 1) ? "same bytes" : "MISMATCH");
	bad |= !check(q, 1) || !(fdflags & FD_CLOEXEC);
	if (argc > 1 && !strcmp(argv[1], "hold")) {
		printf("prime(exporter): holding fd %d\n", dfd);
		fflush(stdout);
		pause();
	}
	munmap(q, SIZE);
	/* The dma-buf's own ioctls reach dma_buf_ioctl() through the fd. */
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	int sr = ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync);
	sync.flags = 0x80;	/* not a DMA_BUF_SYNC_* flag */
	errno = 0;
	int sbad = ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync), serr = errno;
	printf("prime(exporter): DMA_BUF_IOCTL_SYNC -> %s; with bad flags -> %s\n",
	       sr ? strerror(errno) : "0", sbad ? strerror(serr) : "0");
	bad |= sr || !sbad || serr != EINVAL;
	bad |= sync_files(dfd);
	uint32_t again;
	if (drmPrimeFDToHandle(fd, dfd, &again))
		return fail("drmPrimeFDToHandle of its own export");
	printf("prime(exporter): drmPrimeFDToHandle(fd %d) -> handle %u (%s)\n", dfd, again,
	       again == c.handle ? "the same" : "ANOTHER");
	bad |= again != c.handle;

	uint32_t h;
	bad |= !pipe_import_refused(fd, drmPrimeFDToHandle, "prime");
	errno = 0;
	int r = drmPrimeFDToHandle(fd, 999, &h), err = errno;
	printf("prime(exporter): drmPrimeFDToHandle(fd 999, not open) -> %s\n",
	       r ? strerror(err) : "a handle");
	bad |= !r || err != EBADF;

	pid_t child = fork_with_socket(sv);
	if (child < 0)
		return fail("socketpair/fork");
	if (child == 0) {
		close(sv[0]);
		munmap(p, SIZE);
		close(dfd);
		close(fd);
		_exit(importer(sv[1]));
	}
	close(sv[1]);
	if (send_fd(sv[0], dfd) || wait_byte(sv[0]))
		return fail("hand the fd to the importer");
	/* The exporter lets go of everything while the importer maps the buffer. */
	munmap(p, SIZE);
	close(dfd);
	struct drm_gem_close cl = { .handle = c.handle };
	if (drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl))
		return fail("GEM_CLOSE");
	close(fd);
	printf("prime(exporter): unmapped, closed the dma-buf fd, GEM_CLOSE, closed its file\n");
	fflush(stdout);
	if (write(sv[0], "c", 1) != 1)
		return fail("tell the importer");
	int status;
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("prime(exporter): the importer %s %d\n",
		       WIFSIGNALED(status) ? "was killed by signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	bad |= !WIFEXITED(status) || WEXITSTATUS(status);
	printf("prime: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
