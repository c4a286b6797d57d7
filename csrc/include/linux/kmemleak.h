/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: leak tracking is the runtime's live-object registry instead. */
#ifndef __KMEMLEAK_H
#define __KMEMLEAK_H
#define kmemleak_alloc(p, s, c, g) do { } while (0)
#define kmemleak_free(p) do { } while (0)
#define kmemleak_update_trace(p) do { } while (0)
#define kmemleak_not_leak(p) do { } while (0)
#define kmemleak_ignore(p) do { } while (0)
#endif
