#pragma once
#define DO_ONCE(func, ...) ({ static bool ___done; bool ___r = !___done; \
	if (!___done) { ___done = true; func(__VA_ARGS__); } ___r; })
#define DO_ONCE_SLEEPABLE DO_ONCE
