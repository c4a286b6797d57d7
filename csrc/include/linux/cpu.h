#pragma once
#define cpuhp_setup_state_nocalls(a, b, c, d) (0)
#define CPUHP_RADIX_DEAD 0
