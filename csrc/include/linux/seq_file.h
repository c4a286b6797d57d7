/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: a seq_file that prints into a caller's buffer.
 * C header: include/linux/seq_file.h */
#ifndef _LINUX_SEQ_FILE_H
#define _LINUX_SEQ_FILE_H
#include <linux/types.h>
struct seq_file {
	char *buf;
	size_t size;
	size_t count;
};
__attribute__((format(printf, 2, 3))) void seq_printf(struct seq_file *m, const char *fmt, ...);
void seq_puts(struct seq_file *m, const char *s);
void seq_putc(struct seq_file *m, char c);
/* A seq_file show attribute. Its only users here are debugfs files, and
 * debugfs is off (CONFIG_DEBUG_FS=n, linux/debugfs.h): the fops are kept as
 * a record of the show function, never opened. */
#ifndef DEFINE_SHOW_ATTRIBUTE
struct pfl_show_attribute {
	int (*show)(struct seq_file *m, void *v);
};
#define DEFINE_SHOW_ATTRIBUTE(__name)					\
static const struct pfl_show_attribute __name ## _fops __attribute__((unused)) = { \
	.show = __name ## _show,					\
}
#endif

#endif
