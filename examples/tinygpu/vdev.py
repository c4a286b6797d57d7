"""The stand-in device: what real hardware (or a core driver) would give
tinygpu -- device memory, managed by the kernel's GPU buddy allocator --
and an auxiliary device ``TinyDev.tinygpu.0`` for the driver to bind to."""

from pyforlinux import auxiliary, faux
from pyforlinux.gpu.buddy import GpuBuddy, GpuBuddyAllocMode
from pyforlinux.module import Param, Size, ThisModule, module

PAGE = 4096


class Memory:
    """Device memory: ``size`` bytes, allocated by the buddy allocator."""

    def __init__(self, size: int) -> None:
        self.bytes = bytearray(size)  # what a client reads and writes
        self.buddy = GpuBuddy(0, size, PAGE)

    def alloc(self, size: int):
        """``size`` bytes of blocks (ENOSPC when full)."""
        return self.buddy.alloc_blocks(GpuBuddyAllocMode.Simple, size, PAGE)

    def close(self) -> None:
        self.buddy.close()


@module(name="TinyDev", authors=["You"], description="tinygpu's stand-in device",
        license="GPL v2",
        params={"mem_size": Param(Size, Size(16 << 20), "device memory, bytes")})
class TinyDevModule:
    def __init__(self, this_module: ThisModule) -> None:
        self.dev = faux.Registration("tinygpu-dev0")
        try:
            self.mem = Memory(this_module.param("mem_size").value)
            self.dev.set_drvdata(self.mem)
            self.aux = auxiliary.Registration(self.dev.as_bound(), "tinygpu", 0, "TinyDev")
        except BaseException:
            self.dev.close()
            raise

    def close(self) -> None:
        self.aux.close()  # the driver unbinds first
        self.mem.close()
        self.dev.close()
