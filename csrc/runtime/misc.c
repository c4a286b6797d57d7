// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: small library pieces kernel C links against that are
 * environment, not subject: seq_file into a buffer,
 * kasprintf, bitmap printing, iov_iter_advance for kernel iterators.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/seq_file.h>
#include <linux/bitmap.h>
#include <linux/uio.h>
#include <stdarg.h>

static void seq_vprintf(struct seq_file *m, const char *fmt, va_list ap)
{
	size_t room = m->count < m->size ? m->size - m->count : 0;
	int n = vsnprintf(m->buf ? m->buf + m->count : NULL, room, fmt, ap);

	if (n > 0)
		m->count = m->count + (size_t)n < m->size ? m->count + (size_t)n : m->size;
}

void seq_printf(struct seq_file *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	seq_vprintf(m, fmt, ap);
	va_end(ap);
}

void seq_puts(struct seq_file *m, const char *s)
{
	seq_printf(m, "%s", s);
}

void seq_putc(struct seq_file *m, char c)
{
	seq_printf(m, "%c", c);
}

char *kvasprintf(gfp_t gfp, const char *fmt, va_list args)
{
	va_list aq;
	char *p;
	int n;

	va_copy(aq, args);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return NULL;
	p = kmalloc((size_t)n + 1, gfp);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, args);
	return p;
}

char *kasprintf(gfp_t gfp, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = kvasprintf(gfp, fmt, ap);
	va_end(ap);
	return p;
}

int bitmap_print_to_pagebuf(bool list, char *buf, const unsigned long *maskp, int nmaskbits)
{
	int i, n = 0;

	for (i = 0; i < nmaskbits && n < (int)PAGE_SIZE - 2; i++)
		n += snprintf(buf + n, PAGE_SIZE - (size_t)n, "%d", test_bit(i, maskp) ? 1 : 0);
	n += snprintf(buf + n, PAGE_SIZE - (size_t)n, "\n");
	return n;
}

void iov_iter_advance(struct iov_iter *i, size_t bytes)
{
	if (bytes > i->count)
		bytes = i->count;
	if (iov_iter_type(i) == ITER_KVEC || iov_iter_type(i) == ITER_BVEC) {
		size_t skip = i->iov_offset + bytes;
		size_t len;

		while (i->nr_segs && skip) {
			len = iov_iter_type(i) == ITER_KVEC ? i->kvec->iov_len : i->bvec->bv_len;
			if (skip < len)
				break;
			skip -= len;
			if (iov_iter_type(i) == ITER_KVEC)
				i->kvec++;
			else
				i->bvec++;
			i->nr_segs--;
		}
		i->iov_offset = skip;
	} else {
		i->iov_offset += bytes;
	}
	i->count -= bytes;
}
