"""Launchers: the host side of each generated kernel (shapes, strides, grid, arguments).

A launcher is built once per Program instruction at link time and called
with the input values (CuPy arrays; small NumPy values such as shapes are
copied in) on every call; it returns the output values.
"""

from __future__ import annotations

import numpy as np

from graphrt_cuda._cupy import cupy
from graphrt_cuda.codegen import nnet as nnet_gen
from graphrt_cuda.codegen.elemwise import elemwise_kernel
from graphrt_cuda.codegen.layout import broadcast_strides, collapse, index_bits, is_contiguous, size_of
from graphrt_cuda.codegen.reduce import BLOCK as REDUCE_BLOCK
from graphrt_cuda.codegen.reduce import reduce_kernel

THREADS = 256
MAX_BLOCKS = 65535  # enough blocks to fill any current GPU; grid-stride loops do the rest


def _device(v):
    cp = cupy()
    return v if isinstance(v, cp.ndarray) else cp.asarray(v)


def _elem_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


def _idx(bits):
    return np.int32 if bits == 32 else np.int64


class ElemwiseLauncher:
    capturable = True

    def __init__(self, node, cache):
        self.op = node.op
        self.scalar_op = node.op.scalar_op
        self.in_dtypes = tuple(i.type.dtype for i in node.inputs)
        self.out_dtypes = tuple(o.type.dtype for o in node.outputs)
        self.destroy = {k: v[0] for k, v in getattr(node.op, "destroy_map", {}).items()}
        self.cache = cache
        self.kernels = {}
        # fail now (at link time) when the generator cannot emit this op
        elemwise_kernel(self.scalar_op, self.in_dtypes, self.out_dtypes, 1,
                        [True] * (len(self.in_dtypes) + len(self.out_dtypes)), 32)

    def __call__(self, args):
        cp = cupy()
        args = [_device(a) for a in args]
        out_shape = np.broadcast_shapes(*[a.shape for a in args]) if args else ()
        outs = [args[self.destroy[k]] if k in self.destroy else cp.empty(out_shape, dtype=d)
                for k, d in enumerate(self.out_dtypes)]
        n = size_of(out_shape)
        if n == 0:
            return outs
        ops = args + outs
        strides = [broadcast_strides(out_shape, a.shape, _elem_strides(a)) for a in ops]
        shape, strides = collapse(out_shape, strides)
        contig = tuple(is_contiguous(shape, st) for st in strides)
        bits = index_bits(shape, strides)
        sig = (len(shape), contig, bits)
        fn = self.kernels.get(sig)
        if fn is None:
            ks = elemwise_kernel(self.scalar_op, self.in_dtypes, self.out_dtypes, len(shape),
                                 contig, bits)
            fn = self.kernels[sig] = (self.cache.get(ks), ks.meta["strided"])
        kernel, strided = fn
        ix = _idx(bits)
        params = [ix(n), *ops]
        if strided:
            params += [ix(s) for s in shape]
            for k in strided:
                params += [ix(s) for s in strides[k]]
        grid = min((n + THREADS - 1) // THREADS, MAX_BLOCKS)
        kernel((grid,), (THREADS,), tuple(params))
        return outs


class ReduceLauncher:
    """Reduce (scalar_op None) or FusedReduce (the elementwise scalar_op reduced in one kernel)."""

    capturable = True

    def __init__(self, node, cache, reduce_name, axis, scalar_op, value_dtype, acc_dtype):
        self.reduce_name = reduce_name
        self.axis = tuple(sorted(a % max(1, node.inputs[0].type.ndim) for a in axis))
        self.scalar_op = scalar_op
        self.in_dtypes = tuple(i.type.dtype for i in node.inputs)
        self.value_dtype = value_dtype
        self.out_dtype = node.outputs[0].type.dtype
        self.acc_dtype = acc_dtype
        self.cache = cache
        self.kernels = {}
        self.label = str(node.op)
        reduce_kernel(reduce_name, scalar_op, self.in_dtypes, value_dtype, self.out_dtype,
                      acc_dtype, 1, 1, 32, "block")

    def __call__(self, args):
        cp = cupy()
        args = [_device(a) for a in args]
        full = np.broadcast_shapes(*[a.shape for a in args])
        kept = [d for d in range(len(full)) if d not in self.axis]
        out_shape = tuple(full[d] for d in kept)
        out = cp.empty(out_shape, dtype=self.out_dtype)
        K = size_of([full[d] for d in self.axis])
        M = size_of(out_shape)
        if K == 0 and self.reduce_name in ("maximum", "minimum"):
            raise ValueError(f"{self.label}: cannot reduce an empty dimension (input shape {full}) "
                             "with max/min: it has no identity")
        if M == 0:
            return [out]
        strides = [broadcast_strides(full, a.shape, _elem_strides(a)) for a in args]
        kshape, kstr = collapse([full[d] for d in kept], [[st[d] for d in kept] for st in strides])
        rshape, rstr = collapse([full[d] for d in self.axis] or [1],
                                [[st[d] for d in self.axis] or [0] for st in strides])
        bits = max(index_bits(full, strides), 64 if M * max(K, 1) > (1 << 31) - 1 else 32)
        variant = "block" if K >= 1024 or M < 1024 else "thread"
        sig = (len(kshape), len(rshape), bits, variant)
        fn = self.kernels.get(sig)
        if fn is None:
            ks = reduce_kernel(self.reduce_name, self.scalar_op, self.in_dtypes, self.value_dtype,
                               self.out_dtype, self.acc_dtype, len(kshape), len(rshape), bits,
                               variant)
            fn = self.kernels[sig] = self.cache.get(ks)
        ix = _idx(bits)
        params = [ix(M), ix(K), *args, out, *[ix(s) for s in kshape], *[ix(s) for s in rshape]]
        for ks_, rs_ in zip(kstr, rstr):
            params += [ix(s) for s in ks_] + [ix(s) for s in rs_]
        if variant == "block":
            grid, block = min(M, MAX_BLOCKS), REDUCE_BLOCK
        else:
            grid, block = min((M + THREADS - 1) // THREADS, MAX_BLOCKS), THREADS
        fn((grid,), (block,), tuple(params))
        return [out]


class RowLauncher:
    """The softmax family and the fused crossentropy ops (codegen/nnet.py): rows x cols kernels."""

    def __init__(self, node, cache, mode, axis=-1):
        self.mode = mode
        self.axis = axis
        self.dtype = node.outputs[0].type.dtype if mode != "xent" else node.outputs[1].type.dtype
        self.cache = cache
        self.kernels = {}
        self.label = str(node.op)
        # the crossentropy ops check their labels on the host (a synchronisation)
        self.capturable = mode not in ("xent", "xent_dx")
        nnet_gen.nnet_kernel(mode, self.dtype, 32)

    def _kernel(self, bits):
        fn = self.kernels.get(bits)
        if fn is None:
            fn = self.kernels[bits] = self.cache.get(nnet_gen.nnet_kernel(self.mode, self.dtype, bits))
        return fn

    def _launch(self, rows, cols, arrays):
        bits = 32 if rows * cols < (1 << 31) - 1 else 64
        ix = _idx(bits)
        block = min(nnet_gen.BLOCK, max(32, (cols + 31) // 32 * 32))
        grid = max(1, min(rows, MAX_BLOCKS))
        self._kernel(bits)((grid,), (block,), (ix(rows), ix(cols), *arrays))

    def __call__(self, args):
        cp = cupy()
        args = [_device(a) for a in args]
        if self.mode in ("xent", "xent_dx"):
            return self._xent(cp, args)
        x = args[-1] if self.mode.endswith("grad") else args[0]
        if x.size == 0:
            return [cp.empty(x.shape, dtype=self.dtype)]
        axis = None if self.axis is None else self.axis % x.ndim
        moved = [a.reshape(-1) if axis is None else cp.moveaxis(a, axis, -1) for a in args]
        cols = moved[0].shape[-1]
        rows = moved[0].size // max(cols, 1)
        flat = [cp.ascontiguousarray(m) for m in moved]
        out = cp.empty(flat[0].shape, dtype=self.dtype)
        self._launch(rows, cols, flat + [out])
        res = out.reshape(x.shape) if axis is None else cp.moveaxis(out, -1, axis)
        return [res]

    def _xent(self, cp, args):
        if self.mode == "xent":
            x, b, y = args
            rows, cols = x.shape
            if b.shape[0] != cols:
                raise ValueError(f"{self.label}: x has {cols} classes but b has {b.shape[0]} entries")
        else:
            dnll, sm, y = args
            rows, cols = sm.shape
            if dnll.shape[0] != rows:
                raise ValueError(f"{self.label}: dnll has {dnll.shape[0]} rows, sm {rows}")
        if y.shape[0] != rows:
            raise ValueError(f"{self.label}: {rows} rows but {y.shape[0]} labels")
        y = cp.ascontiguousarray(y, dtype=np.int64)
        if rows and bool(((y < 0) | (y >= cols)).any()):
            raise ValueError(f"{self.label}: a label is out of range [0, {cols})")
        if self.mode == "xent":
            nll = cp.empty((rows,), dtype=self.dtype)
            sm_out = cp.empty((rows, cols), dtype=self.dtype)
            am = cp.empty((rows,), dtype=np.int64)
            if rows and cols:
                self._launch(rows, cols, [cp.ascontiguousarray(x), cp.ascontiguousarray(b), y,
                                          nll, sm_out, am])
            else:
                nll[...] = 0
                sm_out[...] = 0
                am[...] = 0
            return [nll, sm_out, am]
        dx = cp.empty((rows, cols), dtype=self.dtype)
        if rows and cols:
            self._launch(rows, cols, [cp.ascontiguousarray(dnll), cp.ascontiguousarray(sm), y, dx])
        return [dx]
