// SPDX-License-Identifier: GPL-2.0
/*
 * nova-drm-client: a real process talking to Nova through libdrm.
 *
 * Run under pyforlinux's device-node bridge (umockdev's preload): finds
 * the render node with drmGetDevices2(), then drmGetVersion, drmGetCap,
 * NOVA_GETPARAM, NOVA_GEM_CREATE/GEM_INFO, MODE_MAP_DUMB + mmap with a
 * write, msync and read-back, GEM_CLOSE. One line per step; exit status 0
 * if every step gave what the kernel would.
 *
 *   nova-drm-client            the session (on the primary node)
 *   nova-drm-client bench N    N NOVA_GETPARAM ioctls; prints "ns/ioctl <n>"
 *   nova-drm-client efault     bad pointers: expects EFAULT, then goes on
 *   nova-drm-client hold       create an object and sleep (to be killed)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include "nova_drm.h"

static int fail(const char *what)
{
	printf("client(C): %s: FAILED (%s)\n", what, strerror(errno));
	return 1;
}

/* The first device's node of type @type (DRM_NODE_PRIMARY or _RENDER). */
static int open_node(int type, int quiet)
{
	drmDevicePtr devs[8];
	int n = drmGetDevices2(0, devs, 8), fd = -1;

	if (n <= 0) {
		printf("client(C): drmGetDevices2 -> %d devices: FAILED\n", n);
		return -1;
	}
	for (int i = 0; i < n && fd < 0; i++) {
		if (!(devs[i]->available_nodes & (1 << type)))
			continue;
		if (!quiet)
			printf("client(C): drmGetDevices2 -> %s (PCI %04x:%04x)\n", devs[i]->nodes[type],
			       devs[i]->deviceinfo.pci->vendor_id, devs[i]->deviceinfo.pci->device_id);
		fd = open(devs[i]->nodes[type], O_RDWR | O_CLOEXEC);
	}
	drmFreeDevices(devs, n);
	return fd;
}

static int getparam(int fd, __u64 *value)
{
	struct drm_nova_getparam p = { .param = NOVA_GETPARAM_VRAM_BAR_SIZE };
	int ret = drmIoctl(fd, DRM_IOCTL_NOVA_GETPARAM, &p);

	*value = p.value;
	return ret;
}

static int bench(int fd, long n)
{
	struct timespec a, b;
	__u64 v;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (getparam(fd, &v))
			return fail("NOVA_GETPARAM");
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns/ioctl %.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}

static int efault(int fd)
{
	struct drm_version v = { .name_len = 64, .name = (char *)16 };  /* unmapped */
	int bad = 0;

	if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 || errno != EFAULT)
		bad = printf("client(C): VERSION with a bad name pointer: expected EFAULT, got %s\n",
			     strerror(errno));
	else
		printf("client(C): VERSION with a bad name pointer -> EFAULT\n");
	if (ioctl(fd, DRM_IOCTL_NOVA_GETPARAM, NULL) == 0 || errno != EFAULT)
		bad = printf("client(C): GETPARAM(NULL): expected EFAULT, got %s\n", strerror(errno));
	else
		printf("client(C): GETPARAM(NULL) -> EFAULT\n");
	__u64 value;
	if (getparam(fd, &value))
		return fail("NOVA_GETPARAM after EFAULT");
	printf("client(C): still alive, GETPARAM -> %llu\n", (unsigned long long)value);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	int quiet = argc > 1 && strcmp(argv[1], "hold");
	/* The render node for GETPARAM; MODE_MAP_DUMB is a primary-node ioctl. */
	int fd = open_node(argc > 1 && strcmp(argv[1], "hold") ? DRM_NODE_RENDER
							       : DRM_NODE_PRIMARY, quiet);
	__u64 value;

	if (fd < 0)
		return fail("open DRM node");
	if (argc > 2 && !strcmp(argv[1], "bench"))
		return bench(fd, atol(argv[2]));
	if (argc > 1 && !strcmp(argv[1], "efault"))
		return efault(fd);

	drmVersionPtr ver = drmGetVersion(fd);
	if (!ver)
		return fail("drmGetVersion");
	printf("client(C): drmGetVersion -> %s %d.%d.%d (%s, date \"%s\")\n", ver->name,
	       ver->version_major, ver->version_minor, ver->version_patchlevel, ver->desc,
	       ver->date);
	drmFreeVersion(ver);

	/* The real drm_getcap(): PRIME is answered for render-only drivers; the
	 * display caps (DUMB_BUFFER...) are EOPNOTSUPP without DRIVER_MODESET. */
	uint64_t cap = 0;
	int ret = drmGetCap(fd, DRM_CAP_PRIME, &cap);
	if (ret)
		printf("client(C): drmGetCap(PRIME) -> %s\n", strerror(errno));
	else
		printf("client(C): drmGetCap(PRIME) -> %#llx\n", (unsigned long long)cap);
	ret = drmGetCap(fd, DRM_CAP_DUMB_BUFFER, &cap);
	printf("client(C): drmGetCap(DUMB_BUFFER) -> %s\n", ret ? strerror(errno) : cap ? "1" : "0");

	if (getparam(fd, &value))
		return fail("NOVA_GETPARAM");
	printf("client(C): NOVA_GETPARAM(VRAM_BAR_SIZE) -> %llu MiB\n",
	       (unsigned long long)value >> 20);

	struct drm_nova_gem_create c = { .size = 3 * 4096 + 100 };
	if (drmIoctl(fd, DRM_IOCTL_NOVA_GEM_CREATE, &c))
		return fail("NOVA_GEM_CREATE");
	struct drm_nova_gem_info info = { .handle = c.handle };
	if (drmIoctl(fd, DRM_IOCTL_NOVA_GEM_INFO, &info))
		return fail("NOVA_GEM_INFO");
	printf("client(C): NOVA_GEM_CREATE(%llu) -> handle %u; GEM_INFO -> size %llu\n",
	       (unsigned long long)c.size, c.handle, (unsigned long long)info.size);

	if (argc > 1 && !strcmp(argv[1], "hold")) {
		printf("client(C): holding handle %u\n", c.handle);
		fflush(stdout);
		pause();
	}

	struct drm_mode_map_dumb map = { .handle = c.handle };
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map))
		return fail("MODE_MAP_DUMB");
	size_t size = info.size;
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map.offset);
	if (p == MAP_FAILED)
		return fail("mmap");
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	if (msync(p, size, MS_SYNC))
		return fail("msync");
	munmap(p, size);
	/* Drop the (clean) cached pages: the new mapping reads the object. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	int fd2 = dup(fd);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd2, map.offset);
	if (p == MAP_FAILED)
		return fail("mmap (read-back)");
	size_t bad = 0;
	for (size_t i = 0; i < size; i++)
		bad += p[i] != (unsigned char)(i * 7 + 3);
	munmap(p, size);
	close(fd2);
	printf("client(C): mmap at %#llx: wrote %zu bytes, msync, read back: %s\n",
	       (unsigned long long)map.offset, size, bad ? "MISMATCH" : "ok");

	struct drm_gem_close cl = { .handle = c.handle };
	if (drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl))
		return fail("GEM_CLOSE");
	printf("client(C): GEM_CLOSE; close\n");
	close(fd);
	return bad ? 1 : 0;
}
