"""pyforlinux.page: owned pages in the struct page model, borrowed pages,
page iterators, the VVec<u8>-like PageBuffer."""

from __future__ import annotations

import pytest

from pyforlinux import alloc
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import __GFP_ZERO, GFP_KERNEL
from pyforlinux.error import Error, code
from pyforlinux.page import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    AsPageIter,
    BorrowedPage,
    Page,
    PageBuffer,
    Pages,
    page_align,
)


def pages_live() -> int:
    return alloc.live_objects().live("pages")


def test_constants_match_the_headers() -> None:
    assert PAGE_SIZE == 4096 == lib.PAGE_SIZE
    assert PAGE_SHIFT == 12
    assert PAGE_MASK == (1 << 64) - 4096


def test_page_align_like_the_rust_doctest() -> None:
    assert page_align(0) == 0
    assert page_align(PAGE_SIZE) == PAGE_SIZE
    assert page_align(1) == PAGE_SIZE
    assert page_align(PAGE_SIZE + 1) == 2 * PAGE_SIZE
    assert page_align((1 << 64) - 1 - PAGE_SIZE // 2) is None
    assert page_align(-1) is None


def test_page_is_its_address_in_the_struct_page_model() -> None:
    before = pages_live()
    with Page.alloc_page(GFP_KERNEL | __GFP_ZERO) as page:
        assert pages_live() == before + 1
        addr = int(ffi.cast("uintptr_t", page.as_ptr()))
        assert addr % PAGE_SIZE == 0
        assert page.pfn() == addr >> PAGE_SHIFT
        assert page.phys_addr() == addr
        assert page.nid() == 0
        assert lib.pfl_kobj_is_live(ffi.cast("void *", addr))
        assert page.read(0, PAGE_SIZE) == bytes(PAGE_SIZE)
        page.write(100, b"kernel")
        assert page.read(100, 6) == b"kernel"
        # the memory really is at the address: read it raw
        assert bytes(ffi.buffer(ffi.cast("char *", addr + 100), 6)) == b"kernel"
        page.fill_zero(100, 3)
        assert page.read(100, 6) == b"\0\0\0nel"
    assert pages_live() == before


@pytest.mark.parametrize(
    ("offset", "length"), [(PAGE_SIZE, 1), (0, PAGE_SIZE + 1), (-1, 1), (1, -1), (4000, 200)]
)
def test_page_access_out_of_bounds_is_einval(offset: int, length: int) -> None:
    with Page.alloc_page(GFP_KERNEL) as page:
        with pytest.raises(Error) as e:
            page.read(offset, length)
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            page.fill_zero(offset, length)
        assert e.value.errno == code.EINVAL


def test_page_write_past_the_end_is_einval_and_writes_nothing() -> None:
    with Page.alloc_page(GFP_KERNEL | __GFP_ZERO) as page:
        with pytest.raises(Error) as e:
            page.write(PAGE_SIZE - 2, b"abc")
        assert e.value.errno == code.EINVAL
        assert page.read(PAGE_SIZE - 2, 2) == b"\0\0"


def test_page_use_after_close_is_einval_and_close_is_idempotent() -> None:
    page = Page.alloc_page(GFP_KERNEL)
    page.close()
    page.close()
    assert page.closed
    for op in (page.as_ptr, page.pfn, lambda: page.read(0, 1), page.page_iter):
        with pytest.raises(Error) as e:
            op()
        assert e.value.errno == code.EINVAL


def test_page_construction_errors() -> None:
    with pytest.raises(TypeError):
        Page()
    with pytest.raises(Error) as e:
        Page.alloc_page(0)  # type: ignore[arg-type]
    assert e.value.errno == code.EINVAL


def test_alloc_page_failure_is_enomem_and_leaks_nothing() -> None:
    with alloc.fail_nth(1) as f, pytest.raises(alloc.AllocError) as e:
        Page.alloc_page(GFP_KERNEL)
    assert f.triggered
    assert e.value.errno == code.ENOMEM


def test_pages_are_contiguous_and_borrowed_pages_check_their_owner() -> None:
    block = Pages.alloc(GFP_KERNEL | __GFP_ZERO, 2)
    assert len(block) == 4 and block.size == 4 * PAGE_SIZE and block.order == 2
    it = block.page_iter()
    assert it.size() == 4 * PAGE_SIZE and it.page_count() == 4
    pfns = [p.pfn() for p in it]
    assert pfns == [block.pfn() + i for i in range(4)]
    block.write(PAGE_SIZE - 2, b"span")
    assert block.page(1).read(0, 2) == b"an"
    borrowed = block.page(3)
    assert isinstance(borrowed, BorrowedPage)
    block.close()
    with pytest.raises(Error) as e:
        borrowed.read(0, 1)
    assert e.value.errno == code.EINVAL


@pytest.mark.parametrize("order", [-1, 21, True])
def test_pages_bad_order_is_einval(order: int) -> None:
    with pytest.raises(Error) as e:
        Pages.alloc(GFP_KERNEL, order)
    assert e.value.errno == code.EINVAL


def test_page_buffer_is_vvec_like_and_scattered() -> None:
    before = pages_live()
    buf = PageBuffer.with_capacity(3 * PAGE_SIZE + 10, GFP_KERNEL)
    assert isinstance(buf, AsPageIter)
    assert pages_live() == before + 4
    assert len(buf) == 0 and buf.capacity() == 3 * PAGE_SIZE + 10 and buf.page_count() == 4
    data = bytes(range(256)) * 20
    buf.extend_from_slice(data, GFP_KERNEL)
    assert len(buf) == len(data)
    assert buf.to_bytes() == data
    assert buf.read(PAGE_SIZE - 3, 6) == data[PAGE_SIZE - 3 : PAGE_SIZE + 3]
    it = buf.page_iter()
    assert it.size() == 3 * PAGE_SIZE + 10 and it.page_count() == 4
    pfns = [p.pfn() for p in it]
    # vmalloc-like: no two pages of the buffer are physically adjacent here
    assert all(abs(a - b) != 1 for a in pfns for b in pfns)
    # growing past the capacity allocates pages
    buf.extend_from_slice(b"x" * (4 * PAGE_SIZE), GFP_KERNEL)
    assert buf.page_count() == 6 and len(buf) == len(data) + 4 * PAGE_SIZE
    assert buf.capacity() == len(buf)
    assert buf.read(len(data) - 1, 2) == data[-1:] + b"x"
    buf.close()
    assert pages_live() == before


def test_page_buffer_zero_capacity_has_no_pages() -> None:
    with PageBuffer.with_capacity(0, GFP_KERNEL) as buf:
        it = buf.page_iter()
        assert it.size() == 0 and it.page_count() == 0 and list(it) == []


def test_page_buffer_errors() -> None:
    with pytest.raises(Error) as e:
        PageBuffer.with_capacity(-1, GFP_KERNEL)
    assert e.value.errno == code.EINVAL
    with PageBuffer.with_capacity(10, GFP_KERNEL) as buf:
        with pytest.raises(Error) as e:
            buf.write(5, b"123456")
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            buf.page(1)
        assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        buf.read(0, 1)
    assert e.value.errno == code.EINVAL


def test_page_buffer_allocation_failure_frees_what_it_got() -> None:
    with alloc.fail_nth(3), pytest.raises(alloc.AllocError) as e:
        PageBuffer.with_capacity(5 * PAGE_SIZE, GFP_KERNEL)
    assert e.value.errno == code.ENOMEM
    with PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL) as buf:
        buf.extend_from_slice(b"a" * 100, GFP_KERNEL)
        with alloc.fail_nth(2), pytest.raises(alloc.AllocError):
            buf.extend_from_slice(b"b" * (3 * PAGE_SIZE), GFP_KERNEL)
        assert buf.page_count() == 1 and len(buf) == 100


def test_pinned_pages_refuse_close_with_ebusy() -> None:
    buf = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    buf._pin("a test")
    with pytest.raises(Error) as e:
        buf.close()
    assert e.value.errno == code.EBUSY
    with pytest.raises(Error) as e:
        buf.extend_from_slice(b"x" * (PAGE_SIZE + 1), GFP_KERNEL)
    assert e.value.errno == code.EBUSY
    with pytest.raises(Error) as e:
        buf._pin("another")
    assert e.value.errno == code.EBUSY
    buf._close_pinned()
    assert buf.closed


def test_page_iter_stops_when_the_owner_is_released() -> None:
    buf = PageBuffer.with_capacity(2 * PAGE_SIZE, GFP_KERNEL)
    it = buf.page_iter()
    next(it)
    buf.close()
    with pytest.raises(Error) as e:
        next(it)
    assert e.value.errno == code.EINVAL
