// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: printk into a ring buffer (dmesg), WARN and BUG.
 *
 * Every printk -- pr_*(), dev_*(), drm_*() once their C is compiled, the
 * runtime's own messages and Python's pyforlinux.printk -- becomes records
 * in one ring buffer (kernel/printk/printk_ringbuffer.c's job): sequence
 * number, timestamp (ns since the runtime started, like local_clock()),
 * log level, the calling task's pid and the text, one record per line.
 * Python reads it with pfl_log_read() (pyforlinux.printk.dmesg()) and can
 * wait for new records (pfl_log_wait(), `pyforlinux run --dmesg`).
 * Records of a level below console_loglevel are also written to the
 * console, the log fd (stderr by default, -1 for none).
 *
 * The formats are the kernel's (Documentation/core-api/printk-formats.rst):
 * libc's conversions for integers and strings ("(null)"/"(efault)" for bad
 * %s pointers, as lib/vsprintf.c), and the %p extensions: %pV (struct
 * va_format, recursively), %ps/%pS/%pSR/%pB (symbol via dladdr, "name" or
 * "name+0xoff/0xsize", else the raw address), %pe (lib/errname.c's name of
 * an ERR_PTR, compiled unmodified), %p and %pK (a keyed hash of the address,
 * 32 bits in 16 hex digits, as kptr_restrict=0; NULL and error pointers
 * unhashed), %px (raw), %pa/%pad (phys/dma address by reference), %ph
 * (hex dump, C/D/N separators), %pU (UUID); other extensions print the
 * hashed pointer. Alphanumerics after %p are consumed, as the kernel does.
 *
 * WARN*() in kernel C is counted (pfl_warn_count()) and logged in the
 * kernel's shape: "WARNING: CPU: 0 PID: n at file:line func", the C
 * caller, and the Python frame that called into C (from a hook Python
 * installs). BUG() is an oops and aborts the process.
 *
 * __drm_debug is the kernel's drm.debug category mask (drm_print.c's
 * variable, weak here so that the real drm_print.c's definition wins when
 * it is linked).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <pfl/runtime.h>

#define KERN_WARNING_PFL "\0014"
#define KERN_EMERG_PFL "\0010"
#define LOG_RECORDS 2048
#define LOG_LINE_MAX 1024	/* PRINTKRB_RECORD_MAX */

struct pfl_log_record {
	unsigned long long seq;
	unsigned long long ts_nsec;
	int level;
	int pid;
	unsigned int len;
	bool open;		/* no newline yet: KERN_CONT may append */
	char text[LOG_LINE_MAX];
};

static struct pfl_log_record records[LOG_RECORDS];
static unsigned long long next_seq;	/* seq of the next record to be stored */
static unsigned long long first_seq;	/* oldest readable (dmesg -C moves it) */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;

/* console_loglevel, default_message_loglevel, minimum, default console level */
int console_printk[4] = { 7, 4, 1, 7 };
__attribute__((weak)) unsigned long __drm_debug;

static int log_fd = 2;
static unsigned long warn_count;
static void (*warn_hook)(char *buf, size_t size);
static char last_warning[512];
static pthread_mutex_t last_warning_mu = PTHREAD_MUTEX_INITIALIZER;
static struct timespec t0;
static pthread_once_t t0_once = PTHREAD_ONCE_INIT;

const char *errname(int err);

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

void pfl_set_warn_hook(void (*hook)(char *buf, size_t size))
{
	warn_hook = hook;
}

static void init_t0(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

static void __attribute__((constructor)) printk_init(void)
{
	pthread_once(&t0_once, init_t0);	/* timestamps count from the load */
}

static unsigned long long ts_now(void)
{
	struct timespec t;

	pthread_once(&t0_once, init_t0);
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)(t.tv_sec - t0.tv_sec) * 1000000000ULL +
	       (unsigned long long)t.tv_nsec - (unsigned long long)t0.tv_nsec;
}

static void console_write(const char *buf, size_t len)
{
	int fd = log_fd;

	while (fd >= 0 && len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* ------------------------------------------------------------ formatting */

struct out {
	char *buf;
	size_t size;
	size_t len;		/* what the full output would take */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static bool bad_ptr(const void *p)
{
	return (uintptr_t)p < 4096 || (uintptr_t)p >= (uintptr_t)-4095;
}

static uint64_t ptr_key;
static pthread_once_t ptr_key_once = PTHREAD_ONCE_INIT;

static void init_ptr_key(void)
{
	if (getrandom(&ptr_key, sizeof(ptr_key), 0) != sizeof(ptr_key))
		ptr_key = (uint64_t)ts_now() ^ 0x9e3779b97f4a7c15ULL;
}

/* %p: a keyed hash (splitmix64 over the key), masked to 32 bits on 64-bit
 * as lib/vsprintf.c's ptr_to_id(); NULL and error pointers are printed raw. */
static void ptr_id(struct out *o, const void *p)
{
	uint64_t z;

	if (!p || (uintptr_t)p >= (uintptr_t)-4095) {
		putf(o, "%016lx", (unsigned long)p);
		return;
	}
	pthread_once(&ptr_key_once, init_ptr_key);
	z = (uint64_t)(uintptr_t)p + ptr_key + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	putf(o, "%016lx", (unsigned long)(z & 0xffffffffUL));
}

static void symbol(struct out *o, const void *addr, bool offset, bool minus_one)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	uintptr_t a = (uintptr_t)addr - (minus_one ? 1 : 0);

	if (dladdr1((void *)a, &info, (void **)&sym, RTLD_DL_SYMENT) && info.dli_sname &&
	    sym && a - (uintptr_t)info.dli_saddr < (sym->st_size ? sym->st_size : 1)) {
		if (offset)
			putf(o, "%s+%#lx/%#lx", info.dli_sname,
			     (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_saddr),
			     (unsigned long)sym->st_size);
		else
			put(o, info.dli_sname, strlen(info.dli_sname));
		return;
	}
	putf(o, "%#lx", (unsigned long)(uintptr_t)addr);
}

struct va_format {
	const char *fmt;
	va_list *va;
};

static void format(struct out *o, const char *fmt, va_list *ap);

static const char *pointer(struct out *o, const char *fmt, void *p, int width)
{
	switch (*fmt) {
	case 'V': {
		struct va_format *vaf = p;
		va_list va;

		if (bad_ptr(p)) {
			put(o, p ? "(efault)" : "(null)", p ? 8 : 6);
			break;
		}
		va_copy(va, *vaf->va);
		format(o, vaf->fmt, &va);
		va_end(va);
		break;
	}
	case 'S':
	case 's':
	case 'B':
		symbol(o, p, *fmt != 's', *fmt == 'B' || fmt[1] == 'b');
		break;
	case 'e':
		if ((uintptr_t)p >= (uintptr_t)-4095) {
			const char *name = errname((int)(intptr_t)p);

			if (name)
				put(o, name, strlen(name));
			else
				putf(o, "%ld", (long)(intptr_t)p);
		} else {
			ptr_id(o, p);
		}
		break;
	case 'x':
		putf(o, "%016lx", (unsigned long)(uintptr_t)p);
		break;
	case 'a':
		if (bad_ptr(p))
			put(o, p ? "(efault)" : "(null)", p ? 8 : 6);
		else if (fmt[1] == 'd')
			putf(o, "0x%016llx", (unsigned long long)*(uint64_t *)p);
		else
			putf(o, "0x%016llx", (unsigned long long)*(uint64_t *)p);
		break;
	case 'h': {
		const unsigned char *b = p;
		char sep = fmt[1] == 'C' ? ':' : fmt[1] == 'D' ? '-' : fmt[1] == 'N' ? 0 : ' ';
		int n = width > 0 ? (width > 64 ? 64 : width) : 1;

		if (bad_ptr(p)) {
			put(o, p ? "(efault)" : "(null)", p ? 8 : 6);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (i && sep)
				put(o, &sep, 1);
			putf(o, "%02x", b[i]);
		}
		break;
	}
	case 'U': {
		const unsigned char *u = p;
		static const int be[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
		static const int le[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
		const int *idx = (fmt[1] == 'l' || fmt[1] == 'L') ? le : be;
		bool upper = fmt[1] == 'B' || fmt[1] == 'L';

		if (bad_ptr(p)) {
			put(o, p ? "(efault)" : "(null)", p ? 8 : 6);
			break;
		}
		for (int i = 0; i < 16; i++) {
			putf(o, upper ? "%02X" : "%02x", u[idx[i]]);
			if (i == 3 || i == 5 || i == 7 || i == 9)
				put(o, "-", 1);
		}
		break;
	}
	default:		/* %p, %pK (kptr_restrict=0) and the rest: hashed */
		ptr_id(o, p);
		break;
	}
	while (isalnum((unsigned char)*fmt))
		fmt++;
	return fmt;
}

static void format(struct out *o, const char *fmt, va_list *ap)
{
	while (*fmt) {
		const char *start = fmt;
		char spec[32];
		size_t sl = 0;
		int width = -1, prec = -1;
		char len[3] = "";

		if (*fmt != '%') {
			const char *pct = strchr(fmt, '%');
			size_t n = pct ? (size_t)(pct - fmt) : strlen(fmt);

			put(o, fmt, n);
			fmt += n;
			continue;
		}
		fmt++;
		if (*fmt == '%') {
			put(o, "%", 1);
			fmt++;
			continue;
		}
		spec[sl++] = '%';
		while (*fmt && strchr("-+ #0", *fmt) && sl < 8)
			spec[sl++] = *fmt++;
		if (*fmt == '*') {
			width = va_arg(*ap, int);
			fmt++;
		} else if (isdigit((unsigned char)*fmt)) {
			width = (int)strtol(fmt, (char **)&fmt, 10);
		}
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				prec = va_arg(*ap, int);
				fmt++;
			} else {
				prec = (int)strtol(fmt, (char **)&fmt, 10);
			}
			if (prec < 0)
				prec = 0;
		}
		if (width >= 0)
			sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", width);
		if (prec >= 0)
			sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, ".%d", prec);
		if (*fmt == 'h' || *fmt == 'l') {
			len[0] = *fmt++;
			if (*fmt == len[0])
				len[1] = *fmt++;
		} else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j' || *fmt == 'L') {
			len[0] = *fmt == 'L' ? 'l' : *fmt;
			if (*fmt == 'L')
				len[1] = 'l';
			fmt++;
		}
		memcpy(spec + sl, len, strlen(len));
		sl += strlen(len);
		spec[sl] = *fmt;
		spec[sl + 1] = 0;
		switch (*fmt) {
		case 'd':
		case 'i':
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (len[0] == 'l' && len[1] == 'l')
				putf(o, spec, va_arg(*ap, long long));
			else if (len[0] == 'l' || len[0] == 'z' || len[0] == 't' || len[0] == 'j')
				putf(o, spec, va_arg(*ap, long));
			else
				putf(o, spec, va_arg(*ap, int));
			fmt++;
			break;
		case 'c':
			putf(o, spec, va_arg(*ap, int));
			fmt++;
			break;
		case 's': {
			const char *s = va_arg(*ap, const char *);

			if (bad_ptr(s))
				s = s ? "(efault)" : "(null)";
			/* Long strings must not be cut by putf's buffer. */
			if (width < 0 && prec < 0)
				put(o, s, strlen(s));
			else
				putf(o, spec, s);
			fmt++;
			break;
		}
		case 'p':
			fmt = pointer(o, fmt + 1, va_arg(*ap, void *), width);
			break;
		case 'n':
			(void)va_arg(*ap, void *);	/* the kernel ignores %n */
			fmt++;
			break;
		default:	/* not a conversion: print it as is */
			put(o, start, (size_t)(fmt - start));
			break;
		}
	}
}

/* vsnprintf() with the kernel's formats; returns the full length. */
int pfl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size ? size - 1 : 0, 0 };
	va_list va;

	va_copy(va, ap);
	format(&o, fmt, &va);
	va_end(va);
	if (size)
		buf[o.len < o.size ? o.len : o.size] = 0;
	return (int)o.len;
}

int pfl_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = pfl_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* snprintf(buf, size, outer, &vaf) with vaf = { inner, the variadic
 * arguments }: %pV as drm_print.c and dev_printk use it (tests call it). */
int pfl_snprintf_pV(char *buf, size_t size, const char *outer, const char *inner, ...)
{
	struct va_format vaf;
	va_list ap;
	int n;

	va_start(ap, inner);
	vaf.fmt = inner;
	vaf.va = &ap;
	n = pfl_snprintf(buf, size, outer, &vaf);
	va_end(ap);
	return n;
}

/* ------------------------------------------------------------ the ring */

static int task_pid(void)
{
	return (int)syscall(SYS_gettid);
}

/* Stores one line (no newline) at level; appends to an open record of the
 * same task when cont. Called with log_mu held. */
static void store_line(int level, const char *text, size_t n, bool cont, bool open)
{
	struct pfl_log_record *r;
	int pid = task_pid();

	if (cont && next_seq > first_seq) {
		r = &records[(next_seq - 1) % LOG_RECORDS];
		if (r->open && r->pid == pid) {
			size_t room = LOG_LINE_MAX - 1 - r->len;

			n = n < room ? n : room;
			memcpy(r->text + r->len, text, n);
			r->len += (unsigned int)n;
			r->text[r->len] = 0;
			r->open = open;
			return;
		}
	}
	if (next_seq > first_seq) {
		struct pfl_log_record *prev = &records[(next_seq - 1) % LOG_RECORDS];

		prev->open = false;
	}
	r = &records[next_seq % LOG_RECORDS];
	if (n > LOG_LINE_MAX - 1)
		n = LOG_LINE_MAX - 1;
	r->seq = next_seq;
	r->ts_nsec = ts_now();
	r->level = level;
	r->pid = pid;
	r->len = (unsigned int)n;
	r->open = open;
	memcpy(r->text, text, n);
	r->text[n] = 0;
	next_seq++;
	if (next_seq - first_seq > LOG_RECORDS)
		first_seq = next_seq - LOG_RECORDS;
}

/* Stores text (already formatted, may hold several lines) at level. */
static void log_store(int level, bool cont, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	pthread_mutex_lock(&log_mu);
	while (p < end || (p == text && len == 0)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		store_line(level, p, n, cont && p == text, nl == NULL);
		if (!nl)
			break;
		p = nl + 1;
	}
	pthread_cond_broadcast(&log_cv);
	pthread_mutex_unlock(&log_mu);
	if (level < console_printk[0])
		console_write(text, len);
}

/* printk_get_level() and printk_skip_level(): "\001" + '0'..'7' or 'c'. */
int vprintk_emit(int facility, int level, const void *dev_info, const char *fmt, va_list args)
{
	char buf[LOG_LINE_MAX * 2];
	bool cont = false;
	int n;

	(void)facility;
	(void)dev_info;
	while (fmt[0] == '\001' && fmt[1]) {
		if (fmt[1] >= '0' && fmt[1] <= '7')
			level = fmt[1] - '0';
		else if (fmt[1] == 'c')
			cont = true;
		fmt += 2;
	}
	if (level < 0)
		level = cont ? -1 : console_printk[1];
	n = pfl_vsnprintf(buf, sizeof(buf), fmt, args);
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (level < 0) {	/* KERN_CONT: the level of the record it continues */
		level = console_printk[1];
		pthread_mutex_lock(&log_mu);
		if (next_seq > first_seq)
			level = records[(next_seq - 1) % LOG_RECORDS].level;
		pthread_mutex_unlock(&log_mu);
	}
	log_store(level, cont, buf, (size_t)n);
	return n;
}

int vprintk(const char *fmt, va_list args)
{
	return vprintk_emit(0, -1, NULL, fmt, args);
}

int _printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}

int pfl_vprintk(const char *fmt, va_list ap)
{
	return vprintk(fmt, ap);
}

int pfl_printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}

/* A message from Python: text as is (no format), level 0..7 or -1 (default). */
void pfl_printk_emit(int level, const char *text)
{
	size_t n = strlen(text);

	if (level < 0 || level > 7)
		level = console_printk[1];
	log_store(level, false, text, n);
	if (level < console_printk[0] && (!n || text[n - 1] != '\n'))
		console_write("\n", 1);	/* one record, one console line */
}

/* Reads the record *seq, or the oldest one after it if it was overwritten
 * (*seq is set to the record's number). Returns the text length (the text
 * is NUL-terminated, cut to size), or -EAGAIN if there is none yet. */
long pfl_log_read(unsigned long long *seq, int *level, unsigned long long *ts_nsec, int *pid,
		  char *text, size_t size)
{
	struct pfl_log_record *r;
	long n;

	pthread_mutex_lock(&log_mu);
	if (*seq < first_seq)
		*seq = first_seq;
	if (*seq >= next_seq) {
		pthread_mutex_unlock(&log_mu);
		return -EAGAIN;
	}
	r = &records[*seq % LOG_RECORDS];
	*level = r->level;
	*ts_nsec = r->ts_nsec;
	*pid = r->pid;
	n = (long)r->len;
	if (size)
		snprintf(text, size, "%s", r->text);
	pthread_mutex_unlock(&log_mu);
	return n;
}

/* The sequence number the next record will have. */
unsigned long long pfl_log_next_seq(void)
{
	unsigned long long s;

	pthread_mutex_lock(&log_mu);
	s = next_seq;
	pthread_mutex_unlock(&log_mu);
	return s;
}

/* Waits up to timeout_ms for a record numbered >= seq; 1 if there is one. */
int pfl_log_wait(unsigned long long seq, int timeout_ms)
{
	struct timespec until;
	int ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&log_mu);
	while (next_seq <= seq) {
		if (pthread_cond_timedwait(&log_cv, &log_mu, &until))
			break;
	}
	ret = next_seq > seq;
	pthread_mutex_unlock(&log_mu);
	return ret;
}

/* dmesg -C: forget what is in the buffer. */
void pfl_log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	first_seq = next_seq;
	pthread_mutex_unlock(&log_mu);
}

/* ------------------------------------------------------------ WARN, BUG */

void pfl_warn_at(const char *file, int line, const char *cond, const void *caller)
{
	char site[512] = "";

	__atomic_add_fetch(&warn_count, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&last_warning_mu);
	snprintf(last_warning, sizeof(last_warning), "WARNING: at %s:%d: %s", file, line, cond);
	pthread_mutex_unlock(&last_warning_mu);
	if (warn_hook)
		warn_hook(site, sizeof(site));
	pfl_printk(KERN_WARNING_PFL "------------[ cut here ]------------\n");
	if (caller)
		pfl_printk(KERN_WARNING_PFL "WARNING: CPU: 0 PID: %d at %s:%d %pS\n", task_pid(),
			   file, line, caller);
	else
		pfl_printk(KERN_WARNING_PFL "WARNING: CPU: 0 PID: %d at %s:%d\n", task_pid(),
			   file, line);
	pfl_printk(KERN_WARNING_PFL "condition: %s\n", cond);
	if (site[0])
		pfl_printk(KERN_WARNING_PFL "Python: %s\n", site);
	pfl_printk(KERN_WARNING_PFL "---[ end trace 0000000000000000 ]---\n");
}

void pfl_warn(const char *file, int line, const char *cond)
{
	pfl_warn_at(file, line, cond, __builtin_return_address(0));
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
	if (size)
		snprintf(buf, size, "%s", last_warning);
	pthread_mutex_unlock(&last_warning_mu);
	return n;
}

void pfl_bug(const char *file, int line, const char *cond)
{
	pfl_printk(KERN_EMERG_PFL "------------[ cut here ]------------\n");
	pfl_printk(KERN_EMERG_PFL "kernel BUG at %s:%d: %s\n", file, line, cond);
	abort();
}
