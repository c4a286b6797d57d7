/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no kernel debugger. C header: include/linux/kgdb.h */
#ifndef _KGDB_H_
#define _KGDB_H_
#define in_dbg_master() (0)
#define dbg_kdb_mode (0)
#endif
