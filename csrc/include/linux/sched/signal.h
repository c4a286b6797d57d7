#pragma once
#include <linux/sched.h>
#define memalloc_nofs_save() 0
#define memalloc_nofs_restore(f) do { (void)(f); } while (0)
#define memalloc_noio_save() 0
#define memalloc_noio_restore(f) do { (void)(f); } while (0)
