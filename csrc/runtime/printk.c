// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: printk, WARN and BUG.
 *
 * printk() writes to a log fd (stderr by default, settable from Python);
 * the KERN_<level> prefix is stripped. WARN*() in kernel C is counted, so
 * tests can fail on any warning; BUG() is an oops and aborts the process.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <pfl/runtime.h>

static int log_fd = 2;
static unsigned long warn_count;
static void (*printk_hook)(const char *msg);
static char last_warning[512];
static pthread_mutex_t last_warning_mu = PTHREAD_MUTEX_INITIALIZER;

void pfl_printk_atfork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&last_warning_mu);
	else if (phase == 1)
		pthread_mutex_unlock(&last_warning_mu);
	else
		pthread_mutex_init(&last_warning_mu, NULL);
}

void pfl_set_log_fd(int fd)
{
	log_fd = fd;
}

void pfl_set_printk_hook(void (*hook)(const char *msg))
{
	printk_hook = hook;
}

static void log_write(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(log_fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

int pfl_vprintk(const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	/* KERN_<LEVEL> is "\001" followed by a level character. */
	while (fmt[0] == '\001' && fmt[1])
		fmt += 2;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (printk_hook)
		printk_hook(buf);
	log_write(buf, (size_t)n);
	return n;
}

int pfl_printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = pfl_vprintk(fmt, ap);
	va_end(ap);
	return n;
}

void pfl_warn(const char *file, int line, const char *cond)
{
	__atomic_add_fetch(&warn_count, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&last_warning_mu);
	snprintf(last_warning, sizeof(last_warning), "WARNING: at %s:%d: %s", file, line, cond);
	pthread_mutex_unlock(&last_warning_mu);
	pfl_printk("------------[ cut here ]------------\nWARNING: at %s:%d: %s\n", file, line, cond);
}

unsigned long pfl_warn_count(void)
{
	return __atomic_load_n(&warn_count, __ATOMIC_SEQ_CST);
}

/* Copies the last warning into buf (NUL-terminated); returns its length. */
size_t pfl_last_warning(char *buf, size_t size)
{
	size_t n;

	pthread_mutex_lock(&last_warning_mu);
	n = strlen(last_warning);
	if (size) {
		snprintf(buf, size, "%s", last_warning);
	}
	pthread_mutex_unlock(&last_warning_mu);
	return n;
}

void pfl_bug(const char *file, int line, const char *cond)
{
	pfl_printk("------------[ cut here ]------------\nkernel BUG at %s:%d: %s\n", file, line, cond);
	abort();
}
