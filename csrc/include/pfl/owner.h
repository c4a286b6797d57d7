/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux helpers for pyforlinux/_owner.py (csrc/helpers/owner.c).
 */
#ifndef _PFL_OWNER_H
#define _PFL_OWNER_H
#include <stdint.h>

uintptr_t pfl_addr_of(const void *p);

#endif /* _PFL_OWNER_H */
