// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: what the driver core (drivers/base/ files, compiled
 * unmodified) calls outside the files compiled here.
 *
 * - kernel/async.c: the kernel runs an async call synchronously when it cannot
 *   queue it (no memory, too many pending); here every call takes that path,
 *   so async_synchronize_*() have nothing to wait for. Async probing is then
 *   synchronous probing, which the driver core allows.
 * - drivers/base/property.c and swnode.c: firmware nodes. No fwnode can exist
 *   here (no OF, no ACPI, and software_node_register() is not compiled), so
 *   dev->fwnode is always NULL; these give the kernel's result for a NULL node
 *   and WARN if ever handed a real one. Listed in docs/ as stubs.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/device.h>
#include <linux/property.h>
#include <linux/async.h>
#include <linux/bug.h>

/* kernel/async.c */
static atomic64_t pfl_async_cookie = { 1 };

async_cookie_t async_schedule_node_domain(async_func_t func, void *data, int node,
					  struct async_domain *domain)
{
	async_cookie_t cookie = (async_cookie_t)atomic64_inc_return(&pfl_async_cookie);

	func(data, cookie);
	return cookie;
}

async_cookie_t async_schedule_node(async_func_t func, void *data, int node)
{
	return async_schedule_node_domain(func, data, node, NULL);
}

bool async_schedule_dev_nocall(async_func_t func, struct device *dev)
{
	/* The kernel returns false when it cannot queue, and does not call. */
	return false;
}

void async_synchronize_full(void) { }
void async_synchronize_full_domain(struct async_domain *domain) { }
void async_synchronize_cookie(async_cookie_t cookie) { }
void async_synchronize_cookie_domain(async_cookie_t cookie, struct async_domain *domain) { }
bool current_is_async(void) { return false; }

/* drivers/base/property.c (CONFIG_OF=n: the device's fwnode) */
struct fwnode_handle *__dev_fwnode(struct device *dev)
{
	return dev->fwnode;
}

const struct fwnode_handle *__dev_fwnode_const(const struct device *dev)
{
	return dev->fwnode;
}

struct fwnode_handle *fwnode_handle_get(struct fwnode_handle *fwnode)
{
	WARN_ON_ONCE(fwnode);
	return fwnode;
}

struct fwnode_handle *fwnode_get_parent(const struct fwnode_handle *fwnode)
{
	WARN_ON_ONCE(fwnode);
	return NULL;
}

struct fwnode_handle *fwnode_get_next_parent(struct fwnode_handle *fwnode)
{
	WARN_ON_ONCE(fwnode);
	return NULL;
}

struct fwnode_handle *fwnode_get_next_available_child_node(const struct fwnode_handle *fwnode,
							   struct fwnode_handle *child)
{
	WARN_ON_ONCE(fwnode);
	return NULL;
}

/* drivers/base/swnode.c: a device without a software node is left alone. */
void software_node_notify(struct device *dev)
{
	WARN_ON_ONCE(dev->fwnode);
}

void software_node_notify_remove(struct device *dev)
{
	WARN_ON_ONCE(dev->fwnode);
}
