"""map_blocks and reduction: a compiled function applied to dask arrays chunk by chunk.

The function travels as a `Shipment` that is one key of the dask graph every block task depends
on: dask moves it to a worker once, and the worker unpacks and links it once (see shipping.py).
Output chunk shapes and dtypes come from the function's types and shape inference (chunkmap.py),
never from a trial call on data.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import dask
import dask.array as da
import numpy as np

from graphcore.compile.function_module import Function
from graphcore.dask.chunkmap import axis_map, shape_function
from graphcore.dask.shipping import load, ship
from graphcore.graph.basic import Constant, Variable
from graphcore.graph.shared import SharedVariable
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.shape import Shape, Shape_i


class NotChunkwiseError(ValueError):
    """A function's output does not map chunk to chunk along a chunked axis of its input."""


_REDUCE_KINDS = {"add": "sum", "maximum": "max", "minimum": "min"}


def _what(f: Function) -> str:
    return f"function {f.name!r}" if f.name else "the compiled function"


def _check_function(f: Any, arrays: tuple, where: str) -> list[da.Array]:
    if not isinstance(f, Function):
        raise TypeError(f"graphcore.dask.{where}: expected a function compiled by "
                        f"graphcore.function, got {type(f).__name__}")
    spec = f.maker.spec
    ins = [i.variable for i in spec["inputs"]]
    if f.maker.updates:
        raise ValueError(f"graphcore.dask.{where}: {_what(f)} updates shared variables; each "
                         "block would update its own worker's copy. Use "
                         "graphcore.dask.train_data_parallel for a training step")
    if not spec["outputs"]:
        raise ValueError(f"graphcore.dask.{where}: {_what(f)} has no outputs")
    if len(arrays) != len(ins):
        raise TypeError(f"graphcore.dask.{where}: {_what(f)} takes {len(ins)} input(s), "
                        f"{len(arrays)} array(s) given")
    out = []
    for k, (a, v) in enumerate(zip(arrays, ins)):
        a = a if isinstance(a, da.Array) else da.asarray(a)
        if a.ndim != v.type.ndim:
            raise ValueError(f"graphcore.dask.{where}: input {k} ({v}) of {_what(f)} has "
                             f"{v.type.ndim} dimension(s), the array given has {a.ndim} "
                             f"(shape {a.shape})")
        out.append(a)
    return out


def _shipped(f: Function) -> Any:
    """The shipment of `f` as one key of a dask graph (a dependency of every block task)."""
    shipment = ship(f)
    return dask.delayed(shipment, pure=True, traverse=False,
                        name=f"graphcore-function-{shipment.key}")


def _run_block(shipment, fallback, *blocks):
    out = load(shipment, fallback)(*blocks)
    return tuple(out) if isinstance(out, list) else out


def _blame(f: Function, arrays: list[da.Array], input_labels: list[tuple[int, ...]],
           bad: frozenset[int]) -> str:
    names = [i.variable for i in f.maker.spec["inputs"]]
    for k, (a, labels) in enumerate(zip(arrays, input_labels)):
        for d, label in enumerate(labels):
            if label in bad and a.numblocks[d] > 1:
                return f"axis {d} of input {k} ({names[k]}; {a.numblocks[d]} chunks)"
    return "a chunked axis"


def map_blocks(f: Function, *arrays: Any, combine: Any = None, fallback: str | bool | None = None,
               name: str | None = None) -> da.Array | tuple[da.Array, ...]:
    """Apply the compiled elementwise or rowwise function `f` to dask arrays block by block.

    One array per explicit input of `f` (a NumPy array is taken whole); returns a dask array
    (a tuple of them for several outputs) with chunks and dtype from `f`'s shape inference.
    Axes that `f` combines values across (a sum over them, a matrix product, a softmax) must be
    one chunk: otherwise it raises NotChunkwiseError, unless `combine` is given ('sum', 'mean',
    'max', 'min', a NumPy ufunc or an associative binary callable): then the per-chunk results
    of a one-input, one-output `f` are combined with it (see `reduction`). fallback: see
    `graphcore.dask.load` (a backend that cannot run on a worker).
    """
    arrays_ = _check_function(f, arrays, "map_blocks")
    amap = axis_map(f)
    chunked = {label for a, labels in zip(arrays_, amap.inputs)
               for d, label in enumerate(labels) if a.numblocks[d] > 1}
    for k, mixed in enumerate(amap.mixed):
        bad = mixed & chunked
        if not bad:
            continue
        if combine is not None:
            if len(arrays_) != 1 or len(amap.outputs) != 1:
                raise NotChunkwiseError(
                    f"graphcore.dask.map_blocks: combine= needs a function of one input with one "
                    f"output; {_what(f)} has {len(arrays_)} input(s), {len(amap.outputs)} output(s)")
            axes = tuple(d for d, label in enumerate(amap.inputs[0]) if label in bad)
            return reduction(f, arrays_[0], axis=axes, combine=combine, fallback=fallback)
        raise NotChunkwiseError(
            f"graphcore.dask.map_blocks: output {k} of {_what(f)} does not map chunk to chunk "
            f"along {_blame(f, arrays_, amap.inputs, bad)}: it combines values across that axis "
            "(a reduction, a matrix product, a softmax, or an op whose effect on axes is not "
            "known). Rechunk that axis to one chunk, use graphcore.dask.reduction for a function "
            "ending in sum/mean/max/min, or pass combine=")
    # one blockwise index per label; unify the chunks of the axes that share one
    index = {label: n for n, label in enumerate(sorted({lab for labs in amap.inputs
                                                         for lab in labs}))}
    in_inds = [tuple(index[label] for label in labels) for labels in amap.inputs]
    chunkss, arrays_ = da.core.unify_chunks(*[x for pair in zip(arrays_, in_inds) for x in pair])
    shapes_of = shape_function(f)
    out_shapes = _output_chunks(shapes_of, in_inds, chunkss, amap.outputs, index)
    outs = f.maker.spec["outputs"]
    dtypes = [np.dtype(o.variable.type.dtype) for o in outs]
    argpairs = [x for pair in zip(arrays_, in_inds) for x in pair]
    shipped = _shipped(f)
    token = dask.base.tokenize(shipped.key, fallback, *arrays_)
    base = name or f"graphcore-{f.name or 'map'}"
    if len(outs) == 1:
        out_ind, new_axes, adjust = out_shapes[0]
        return da.blockwise(_run_block, out_ind, shipped, None, fallback, None, *argpairs,
                            new_axes=new_axes, adjust_chunks=adjust, concatenate=True,
                            dtype=dtypes[0], meta=np.empty((0,) * len(out_ind), dtypes[0]),
                            name=f"{base}-{token}")
    first = out_shapes[0][0]
    if any(ind != first for ind, _, _ in out_shapes):
        raise NotImplementedError(
            f"graphcore.dask.map_blocks: the outputs of {_what(f)} have different block "
            "layouts; compile one function per output")
    out_ind, new_axes, adjust = out_shapes[0]
    both = da.blockwise(_run_block, out_ind, shipped, None, fallback, None, *argpairs,
                        new_axes=new_axes, adjust_chunks=adjust, concatenate=True,
                        dtype=object, meta=np.empty((0,) * len(out_ind), object),
                        name=f"{base}-{token}")
    results = []
    for k, ((ind, new, adj), dtype) in enumerate(zip(out_shapes, dtypes)):
        chunks = tuple(adj[i] if i in adj else (new[i],) for i in ind)
        results.append(both.map_blocks(operator.getitem, k, chunks=chunks, dtype=dtype,
                                       meta=np.empty((0,) * len(ind), dtype),
                                       name=f"{base}-out{k}-{token}"))
    return tuple(results)


def _output_chunks(shapes_of, in_inds, chunkss, out_labels, index):
    """Per output: (blockwise index, new_axes sizes, chunks per indexed axis), from the shape
    inference of each distinct block layout (one per chunk of each index)."""
    base = [tuple(chunkss[i][0] for i in ind) for ind in in_inds]
    base_shapes = shapes_of(base)
    fresh = len(index)
    results = []
    for k, labels in enumerate(out_labels):
        ind, new_axes, adjust = [], {}, {}
        for d, label in enumerate(labels):
            if label is None:
                new_axes[fresh] = base_shapes[k][d]
                adjust[fresh] = (base_shapes[k][d],)
                ind.append(fresh)
                fresh += 1
            else:
                ind.append(index[label])
        results.append((tuple(ind), new_axes, adjust))
    # the size of an output axis carrying index i, for each chunk j along i
    for i, chunks in chunkss.items():
        sizes_per_output: list[list[int]] = [[] for _ in out_labels]
        for j in range(len(chunks)):
            layout = [tuple(chunkss[m][j] if m == i else chunkss[m][0] for m in ind)
                      for ind in in_inds]
            shapes = base_shapes if j == 0 else shapes_of(layout)
            for k, (ind, new_axes, _) in enumerate(results):
                if i in ind:
                    sizes_per_output[k].append(shapes[k][ind.index(i)])
                for n, d in enumerate(ind):
                    if d in new_axes and shapes[k][n] != new_axes[d]:
                        raise NotChunkwiseError(
                            f"graphcore.dask.map_blocks: the size of axis {n} of output {k} "
                            "changes from block to block and follows no input axis")
        for k, (ind, _, adjust) in enumerate(results):
            if i in ind:
                adjust[i] = tuple(sizes_per_output[k])
    return results


# -- reductions -----------------------------------------------------------------------------
def _is_count(v: Variable, explicit: set) -> bool:
    """v is computed from constants and input shapes only (the n of a mean)."""
    stack, seen = [v], set()
    while stack:
        u = stack.pop()
        if id(u) in seen:
            continue
        seen.add(id(u))
        if u.owner is None:
            if not isinstance(u, Constant) or isinstance(u, SharedVariable) or u in explicit:
                return False
        elif not isinstance(u.owner.op, (Shape, Shape_i)):
            stack.extend(u.owner.inputs)
    return True


def _final_reduction(f: Function) -> tuple[str, Variable, tuple[int, ...]] | None:
    """('sum'|'max'|'min'|'mean', the reduced variable, its axes) when `f`'s output ends in one."""
    out = f.maker.spec["outputs"][0].variable
    node = out.owner
    if node is None:
        return None
    op = node.op
    if isinstance(op, Reduce) and op.scalar_op.name in _REDUCE_KINDS:
        return _REDUCE_KINDS[op.scalar_op.name], node.inputs[0], op.axis
    if isinstance(op, Elemwise) and op.scalar_op.name in ("truediv", "true_div"):
        num = node.inputs[0].owner
        explicit = {i.variable for i in f.maker.spec["inputs"]}
        if num is not None and isinstance(num.op, Reduce) and num.op.scalar_op.name == "add" \
                and _is_count(node.inputs[1], explicit):
            return "mean", num.inputs[0], num.op.axis
    return None


def _normalize_axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"graphcore.dask.reduction: axis {a} is out of range for "
                             f"{ndim} dimension(s)")
        out.append(int(a) % ndim)
    return tuple(sorted(set(out)))


def _reduce_block(shipment, fallback, axes, kind, block):
    r = np.expand_dims(np.asarray(load(shipment, fallback)(block)), axes)
    if kind == "mean":  # a block's mean times its count: the partial sum of the means' numerator
        r = r * functools.reduce(operator.mul, (block.shape[d] for d in axes), 1)
    return r


def _fold(combine, x, axis=(), keepdims=True, **_):
    """Reduce `x` along `axis` with the binary `combine`, pairwise left to right."""
    for a in sorted(axis):
        parts = [np.take(x, [j], axis=a) for j in range(x.shape[a])]
        x = functools.reduce(combine, parts)
    return x if keepdims else np.squeeze(x, axis=tuple(axis))


def reduction(f: Function, x: Any, axis: Any = None, combine: Any = None,
              fallback: str | bool | None = None, split_every: int | None = None) -> da.Array:
    """The compiled one-input function `f`, ending in a sum/mean/max/min over `axis`, on the dask
    array `x`: `f` runs on each chunk, and the partial results are combined as its final
    reduction says (a tree reduction, `split_every` partials at a time).

    axis: the axes of `x` that `f` reduces (default: read from `f`; when given it must agree).
    combine: for a function ending in anything else (or to override), 'sum', 'mean', 'max',
    'min', a NumPy ufunc or an associative binary callable applied to the per-chunk results.
    Everything `f` computes before its final reduction must be elementwise along the chunked
    axes (sum(x - x.mean()) is refused: a chunk's mean is not the whole array's).
    """
    (x,) = _check_function(f, (x,), "reduction")
    if len(f.maker.spec["outputs"]) != 1:
        raise ValueError(f"graphcore.dask.reduction: {_what(f)} must have one output")
    amap = axis_map(f)
    labels = amap.inputs[0]
    final = _final_reduction(f)
    axes = _normalize_axes(axis, x.ndim)
    kind = None
    if final is not None:
        found, reduced, f_axes = final
        reduced_dims, reduced_mixed = amap.resolve(amap.variables[reduced])
        own = {reduced_dims[d] for d in f_axes if reduced_dims[d] is not None}
        own_axes = tuple(d for d, label in enumerate(labels) if label in own)
        if axes is None:
            axes = own_axes
        if axes == own_axes and combine is None:
            kind, inner_mixed = found, reduced_mixed
    if combine is None and kind is None:
        raise NotChunkwiseError(
            f"graphcore.dask.reduction: {_what(f)} does not end in a sum, mean, max or min over "
            f"axis {axis} of its input, so its per-chunk results cannot be combined; pass "
            "combine= (e.g. 'sum' or an associative binary callable)")
    if axes is None:
        raise ValueError("graphcore.dask.reduction: give axis= (the axes of x that f reduces)")
    chunked = {labels[d] for d in range(x.ndim) if x.numblocks[d] > 1}
    kept = tuple(labels[d] for d in range(x.ndim) if d not in axes)
    if amap.outputs[0] != kept:
        raise NotChunkwiseError(
            f"graphcore.dask.reduction: the output of {_what(f)} is not x with axes {axes} "
            "reduced away (its axes follow x's other axes in another way)")
    if kind is not None:
        bad = inner_mixed & chunked
    else:
        bad = amap.mixed[0] & (chunked - {labels[d] for d in axes})
    if bad:
        raise NotChunkwiseError(
            f"graphcore.dask.reduction: {_what(f)} combines values across "
            f"{_blame(f, [x], [labels], bad)} before its final reduction, so a chunk's result is "
            "not a partial result of the whole array's. Rechunk that axis to one chunk")
    out_dtype = np.dtype(f.maker.spec["outputs"][0].variable.type.dtype)
    if kind is None:
        kind = combine if isinstance(combine, str) else None
    if kind is not None and kind not in ("sum", "mean", "max", "min"):
        raise ValueError(f"graphcore.dask.reduction: combine={combine!r}; use 'sum', 'mean', "
                         "'max', 'min', a NumPy ufunc or a binary callable")
    ind = tuple(range(x.ndim))
    shipped = _shipped(f)
    part_dtype = np.result_type(out_dtype, np.float64) if kind == "mean" else out_dtype
    token = dask.base.tokenize(shipped.key, fallback, axes, kind, x)
    partial = da.blockwise(_reduce_block, ind, shipped, None, fallback, None, axes, None, kind,
                           None, x, ind, adjust_chunks={d: 1 for d in axes}, concatenate=True,
                           dtype=part_dtype, meta=np.empty((0,) * x.ndim, part_dtype),
                           name=f"graphcore-{f.name or 'reduce'}-partial-{token}")
    if kind in ("sum", "mean"):
        total = partial.sum(axis=axes, split_every=split_every)
        if kind == "mean":
            n = functools.reduce(operator.mul, (x.shape[d] for d in axes), 1)
            total = total / n
        return total.astype(out_dtype)
    if kind in ("max", "min"):
        return getattr(partial, kind)(axis=axes, split_every=split_every)
    fold = functools.partial(_fold, combine)
    return da.reduction(partial, chunk=fold, aggregate=fold, combine=fold, axis=axes,
                        keepdims=False, dtype=out_dtype, split_every=split_every,
                        concatenate=True, meta=np.empty((0,) * len(kept), out_dtype),
                        name=f"graphcore-{f.name or 'reduce'}-combine")
