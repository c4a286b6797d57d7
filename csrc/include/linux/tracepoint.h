/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no tracing (as the kernel with CONFIG_TRACEPOINTS=n): each
 * event becomes an empty static inline trace_<name>(), and the event classes
 * and their fields are never instantiated. Used by kernel files' own trace
 * headers (drivers/base/trace.h).
 * C header: include/linux/tracepoint.h */
#ifndef _LINUX_TRACEPOINT_H
#define _LINUX_TRACEPOINT_H
#include <linux/types.h>
#define PARAMS(args...) args
#define TP_PROTO(args...) args
#define TP_ARGS(args...) args
#define TP_CONDITION(args...) args
#define __PFL_DECLARE_TRACE(name, proto)				\
	static inline void trace_##name(proto) { }			\
	static inline bool trace_##name##_enabled(void) { return false; }
#define DECLARE_TRACE(name, proto, args) __PFL_DECLARE_TRACE(name, PARAMS(proto))
#define DECLARE_EVENT_CLASS(name, proto, args, tstruct, assign, print)
#define DEFINE_EVENT(template, name, proto, args) __PFL_DECLARE_TRACE(name, PARAMS(proto))
#define DEFINE_EVENT_PRINT(template, name, proto, args, print) __PFL_DECLARE_TRACE(name, PARAMS(proto))
#define DEFINE_EVENT_CONDITION(template, name, proto, args, cond) __PFL_DECLARE_TRACE(name, PARAMS(proto))
#define TRACE_EVENT(name, proto, args, struct, assign, print) __PFL_DECLARE_TRACE(name, PARAMS(proto))
#define TRACE_EVENT_CONDITION(name, proto, args, cond, struct, assign, print) __PFL_DECLARE_TRACE(name, PARAMS(proto))
#endif
