// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/_owner.py.
 */
#include <pfl/owner.h>

/*
 * The address of @p as an integer: _owner.addr_of(), the key of every
 * ForeignOwnable registry entry, an owner's name. One call instead of a
 * cffi cast to uintptr_t and its int() (about 4x cheaper from Python); it
 * only converts, it never reads *@p.
 */
uintptr_t pfl_addr_of(const void *p)
{
	return (uintptr_t)p;
}
