#pragma once
/* pyforlinux: per-CPU data is per-thread, so local locks need not exclude. */
typedef struct { int unused; } local_lock_t;
#define local_lock(l) do { (void)(l); } while (0)
#define local_unlock(l) do { (void)(l); } while (0)
#define INIT_LOCAL_LOCK(l) { 0 }
