// SPDX-License-Identifier: GPL-2.0
/*
 * pfl-launch: start a program so that the file descriptors the kernel C of
 * the device-node bridge makes for it (PRIME dma-bufs, syncobj and sync_file
 * fds) become real descriptors of the program.
 *
 *   env UMOCKDEV_DIR=... LD_PRELOAD=libumockdev-preload.so.0 pfl-launch PROGRAM [ARGS...]
 *
 * It sets NO_NEW_PRIVS, installs a seccomp filter that turns only ioctl(2)s
 * whose request is one of the fd-carrying DRM, dma-buf or sync_file ioctls into user
 * notifications (SECCOMP_RET_USER_NOTIF; every other syscall is untouched),
 * hands the filter's listener to the bridge over the Unix socket
 * $UMOCKDEV_DIR/ioctl/pfl-fds (SCM_RIGHTS), waits for the bridge's one-byte
 * answer and execs PROGRAM. The filter survives exec and is inherited by
 * fork(): the whole process tree is served. The bridge
 * (pyforlinux/devnode/fds.py) runs each trapped ioctl on the DRM file of
 * that descriptor, as the calling process, and installs the new file with
 * SECCOMP_IOCTL_NOTIF_ADDFD. Exit status 126 (and one line) if any step
 * fails: the program is not started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <drm.h>

static int die(const char *what)
{
	fprintf(stderr, "pfl-launch: %s: %s\n", what, strerror(errno));
	return 126;
}

/* The requests trapped: every DRM, dma-buf and sync_file ioctl that carries
 * a file descriptor (pyforlinux/devnode/fds.py: FD_IOCTLS). */
static const unsigned int fd_ioctls[] = {
	DRM_IOCTL_PRIME_HANDLE_TO_FD, DRM_IOCTL_PRIME_FD_TO_HANDLE,
	DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
	SYNC_IOC_MERGE, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
};
#define N_FD_IOCTLS (sizeof(fd_ioctls) / sizeof(fd_ioctls[0]))

static int install_filter(void)
{
	struct sock_filter f[8 + N_FD_IOCTLS];
	unsigned int n = 0, i;

	/* Another ABI (x32, i386) on this machine: not trapped. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* The request's low 32 bits (the kernel's ioctl cmd is an unsigned int). */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[1]));
	for (i = 0; i < N_FD_IOCTLS; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, fd_ioctls[i],
						      (unsigned char)(N_FD_IOCTLS - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* (the jumps above land here) */
	struct sock_filter notify = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	struct sock_filter all[sizeof(f) / sizeof(f[0]) + 1];
	memcpy(all, f, n * sizeof(f[0]));
	all[n++] = notify;
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = all };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("UMOCKDEV_DIR");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'L', ack = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int dfd, sock, lfd;

	if (argc < 2) {
		fprintf(stderr, "usage: pfl-launch PROGRAM [ARGS...] (with the bridge's "
				"environment: UMOCKDEV_DIR, LD_PRELOAD)\n");
		return 126;
	}
	if (!dir) {
		errno = EINVAL;
		return die("UMOCKDEV_DIR is not set (the bridge's environment)");
	}
	/* Through the directory's fd: a testbed path may be longer than sun_path. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/ioctl", dir);
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return die(path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/pfl-fds", dfd);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)))
		return die("connect to the bridge's $UMOCKDEV_DIR/ioctl/pfl-fds");
	close(dfd);
	lfd = install_filter();
	if (lfd < 0)
		return die("seccomp user notification filter");
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &lfd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		return die("send the listener to the bridge");
	close(lfd);
	/* The bridge serves the listener from now on (or refused it). */
	if (read(sock, &ack, 1) != 1 || ack != 'K') {
		errno = ECONNREFUSED;
		return die("the bridge did not take the listener");
	}
	close(sock);
	execvp(argv[1], argv + 1);
	fprintf(stderr, "pfl-launch: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
