/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no trace events are created (linux/tracepoint.h: no tracing).
 * C header: include/trace/define_trace.h */
