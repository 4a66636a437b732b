"""Host-side index arithmetic: broadcasting, strides, collapsing dimensions, 32/64-bit indexing.

A kernel sees each operand as a pointer plus one stride (in elements) per
dimension of the (collapsed) iteration shape. `collapse` drops length-1
dimensions and merges neighbours every operand walks through as one run
(CuPy's lesson: fewer dimensions, less index arithmetic per element).
`element_offset` is the exact formula the generated code evaluates, kept
here in Python so the CPU tests check it against NumPy's own addressing.
"""

from __future__ import annotations

from collections.abc import Sequence

INT32_MAX = (1 << 31) - 1


def broadcast_strides(out_shape: Sequence[int], shape: Sequence[int],
                      strides: Sequence[int]) -> tuple[int, ...]:
    """Element strides of an operand of `shape` broadcast to `out_shape` (0 on broadcast dims)."""
    pad = len(out_shape) - len(shape)
    if pad < 0:
        raise ValueError(f"cannot broadcast shape {tuple(shape)} to {tuple(out_shape)}")
    res = [0] * pad
    for d, (n, s) in enumerate(zip(shape, strides)):
        want = out_shape[pad + d]
        if n == want:
            res.append(s if n != 1 else 0)
        elif n == 1:
            res.append(0)
        else:
            raise ValueError(f"cannot broadcast shape {tuple(shape)} to {tuple(out_shape)}")
    return tuple(res)


def collapse(shape: Sequence[int], strides: Sequence[Sequence[int]]
             ) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """Drop length-1 dims and merge dims d, d+1 wherever every operand has
    stride[d] == stride[d+1] * shape[d+1]. Returns (shape, strides per operand), at least 1-d."""
    keep = [d for d, n in enumerate(shape) if n != 1]
    if not keep:
        return (1,), [(0,) for _ in strides]
    new_shape = [shape[keep[0]]]
    new_strides = [[st[keep[0]]] for st in strides]
    for d in keep[1:]:
        n = shape[d]
        if all(ns[-1] == st[d] * n for ns, st in zip(new_strides, strides)):
            new_shape[-1] *= n
            for ns, st in zip(new_strides, strides):
                ns[-1] = st[d]
        else:
            new_shape.append(n)
            for ns, st in zip(new_strides, strides):
                ns.append(st[d])
    return tuple(new_shape), [tuple(ns) for ns in new_strides]


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """C-contiguous in elements (the kernel then uses the flat index as the offset)."""
    expect = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n != 1 and s != expect:
            return False
        expect *= n
    return True


def size_of(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def index_bits(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> int:
    """32 when every flat index and every element offset fits in an int, else 64."""
    n = size_of(shape)
    if n > INT32_MAX:
        return 64
    for st in strides:
        reach = sum((d - 1) * abs(s) for d, s in zip(shape, st) if d > 0)
        if reach > INT32_MAX:
            return 64
    return 32


def element_offset(i: int, shape: Sequence[int], strides: Sequence[int]) -> int:
    """The offset (in elements) the generated code computes for flat index `i` (last dim fastest)."""
    off = 0
    rem = i
    for n, s in zip(reversed(shape), reversed(strides)):
        off += (rem % n) * s
        rem //= n
    return off


def coords_code(prefix: str, index: str, shape_names: Sequence[str]) -> list[str]:
    """C statements declaring `prefix0..prefixN-1`, the coordinates of flat `index` (last dim
    fastest; the formula of element_offset)."""
    ndim = len(shape_names)
    if ndim == 1:
        return [f"const IDX {prefix}0 = {index};"]
    lines = [f"IDX {prefix}r_ = {index};"]
    for d in reversed(range(1, ndim)):
        lines.append(f"const IDX {prefix}{d} = {prefix}r_ % {shape_names[d]}; "
                     f"{prefix}r_ /= {shape_names[d]};")
    lines.append(f"const IDX {prefix}0 = {prefix}r_;")
    return lines


def dot_code(prefix: str, stride_names: Sequence[str]) -> str:
    """The C expression sum_d prefix_d * stride_d (an offset from coordinates)."""
    return " + ".join(f"{prefix}{d} * {s}" for d, s in enumerate(stride_names))
