#pragma once
#define module_param(name, type, perm)
#define module_param_named(n, v, t, p)
#define MODULE_PARM_DESC(p, d)
