"""Patch extraction: Theano's `theano.tensor.nnet.neighbours` (images2neibs, neibs2images).

``Images2Neibs(neib_shape, neib_step, mode)(ten4 (N, C, H, W))`` returns a
matrix with one row per (image, channel, patch): rows are ordered by n, then
c, then the patch grid in row-major order, and each row is its patch
flattened row-major, shape ``(N * C * gh * gw, nh * nw)``. The patch at
grid position (i, j) starts at (i * step_h, j * step_w) of the (padded) image.

Modes: 'valid' (the patches must tile the image exactly:
``(H - nh) % step_h == 0``, else a ValueError), 'ignore_borders' (the last
rows/columns that do not fill a patch are dropped), 'half' (zero-padded by
``n // 2`` on each side) and 'full' (zero-padded by ``n - 1``), both then
like 'ignore_borders'. Theano's 'wrap_centered' is not supported.

``Neibs2Images`` is the adjoint: it adds every row back at its patch's
place (overlapping patches sum), so it is the gradient of Images2Neibs and
``neibs2images`` inverts images2neibs for non-overlapping patches.
"""

from __future__ import annotations

import itertools

import numpy as np

from graphcore.graph.basic import Apply, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.shape import get_static_shape_value, shape_i
from graphcore.tensor.type import TensorType

MODES = ("valid", "ignore_borders", "half", "full")


def _pair(value, what, minimum):
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"images2neibs: {what} must be a pair of ints, got {value!r}") from None
    if a < minimum or b < minimum:
        raise ValueError(f"images2neibs: {what} entries must be >= {minimum}, got {value!r}")
    return (a, b)


class _NeibsBase(Op):
    __props__ = ("neib_shape", "neib_step", "mode")

    def __init__(self, neib_shape, neib_step=None, mode="valid"):
        self.neib_shape = _pair(neib_shape, "neib_shape", 1)
        self.neib_step = self.neib_shape if neib_step is None else _pair(neib_step, "neib_step", 1)
        if mode not in MODES:
            raise ValueError(f"images2neibs: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def _pads(self):
        if self.mode == "half":
            return tuple(n // 2 for n in self.neib_shape)
        if self.mode == "full":
            return tuple(n - 1 for n in self.neib_shape)
        return (0, 0)

    def grid(self, h, w, check=True):
        """(gh, gw) patches for an image of h x w (ints or symbolic scalars)."""
        out = []
        for size, n, s, p in zip((h, w), self.neib_shape, self.neib_step, self._pads()):
            padded = size + 2 * p
            if check and self.mode == "valid" and isinstance(size, (int, np.integer)) and \
                    (size < n or (size - n) % s):
                raise ValueError(f"{self}: in mode 'valid' the patches must tile the image: "
                                 f"neib_shape {self.neib_shape} with step {self.neib_step} does not "
                                 f"fit an image of {(h, w)}; use mode='ignore_borders'")
            g = (padded - n) // s + 1
            if isinstance(g, (int, np.integer)):
                g = max(int(g), 0)
            else:
                g = m.maximum(g, 0)
            out.append(g)
        return tuple(out)

    def _slices(self, gh, gw):
        (sh, sw) = self.neib_step
        for a, b in itertools.product(range(self.neib_shape[0]), range(self.neib_shape[1])):
            yield a * self.neib_shape[1] + b, (Ellipsis, slice(a, a + sh * (gh - 1) + 1, sh),
                                               slice(b, b + sw * (gw - 1) + 1, sw))


class Images2Neibs(_NeibsBase):
    """Patches of a 4-d tensor as the rows of a matrix (see the module docstring)."""

    def make_node(self, ten4):
        x = as_tensor_variable(ten4)
        if x.type.ndim != 4:
            raise TypeError(f"{self}: the input must be a 4-d tensor, got {x} of type {x.type}")
        return Apply(self, [x], [TensorType(x.type.dtype, (None, self.neib_shape[0] * self.neib_shape[1]))()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        n, c, h, w = x.shape
        gh, gw = self.grid(h, w)
        ph, pw = self._pads()
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        out = np.empty((n, c, gh, gw, self.neib_shape[0] * self.neib_shape[1]), dtype=x.dtype)
        if out.size:
            for k, sl in self._slices(gh, gw):
                out[..., k] = xp[sl]
        output_storage[0][0] = out.reshape(-1, out.shape[-1])

    def infer_shape(self, fgraph, node, input_shapes):
        n, c, h, w = input_shapes[0]
        gh, gw = self.grid(h, w, check=False)
        return [(n * c * gh * gw, self.neib_shape[0] * self.neib_shape[1])]

    def L_op(self, inputs, outputs, output_grads):
        x = inputs[0]
        g = Neibs2Images(self.neib_shape, self.neib_step, self.mode)(
            output_grads[0], *[shape_i(x, d) for d in range(4)])
        return [cast(g, x.type.dtype)]


class Neibs2Images(_NeibsBase):
    """The adjoint of Images2Neibs: inputs (neibs, N, C, H, W) -> the (N, C, H, W) image sums."""

    def make_node(self, neibs, *shape):
        neibs = as_tensor_variable(neibs)
        if neibs.type.ndim != 2:
            raise TypeError(f"{self}: neibs must be a matrix, got {neibs} of type {neibs.type}")
        if len(shape) != 4:
            raise TypeError(f"{self}: expected the 4 sizes of the image, got {len(shape)}")
        sizes = []
        for s in shape:
            s = as_tensor_variable(s)
            if s.type.ndim != 0 or not s.type.dtype.startswith(("int", "uint")):
                raise TypeError(f"{self}: the image sizes must be integer scalars, got {s.type}")
            sizes.append(cast(s, "int64"))
        static = tuple(get_static_shape_value(s) for s in sizes)
        return Apply(self, [neibs, *sizes], [TensorType(neibs.type.dtype, static)()])

    def perform(self, node, inputs, output_storage):
        neibs, *shape = inputs
        n, c, h, w = (int(s) for s in shape)
        gh, gw = self.grid(h, w)
        k = self.neib_shape[0] * self.neib_shape[1]
        if neibs.shape != (n * c * gh * gw, k):
            raise ValueError(f"{self}: neibs has shape {neibs.shape}, but an image of shape "
                             f"{(n, c, h, w)} has {(n * c * gh * gw, k)}")
        ph, pw = self._pads()
        out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=neibs.dtype)
        if neibs.size:
            rows = neibs.reshape(n, c, gh, gw, k)
            for kk, sl in self._slices(gh, gw):
                out[sl] += rows[..., kk]
        output_storage[0][0] = out[:, :, ph:ph + h, pw:pw + w].copy()

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def L_op(self, inputs, outputs, output_grads):
        g = Images2Neibs(self.neib_shape, self.neib_step, self.mode)(output_grads[0])
        return [cast(g, inputs[0].type.dtype)] + [disconnected_type() for _ in range(4)]

    def connection_pattern(self, node):
        return [[True]] + [[False]] * 4


def images2neibs(ten4, neib_shape, neib_step=None, mode="valid"):
    """The (nh, nw) patches of each image and channel of ten4 as rows of a matrix (Theano)."""
    if mode == "wrap_centered":
        raise NotImplementedError("images2neibs: mode 'wrap_centered' is not supported")
    return Images2Neibs(neib_shape, neib_step, mode)(ten4)


def neibs2images(neibs, neib_shape, original_shape, mode="valid", neib_step=None):
    """Put the patch rows of images2neibs back into images of original_shape (overlaps add up).

    original_shape: 4 ints or symbolic scalars, or a symbolic vector of 4 entries.
    """
    if isinstance(original_shape, Variable):
        sizes = [original_shape[i] for i in range(4)]
    else:
        sizes = list(original_shape)
        if len(sizes) != 4:
            raise ValueError(f"neibs2images: original_shape must have 4 entries, got {original_shape!r}")
    return Neibs2Images(neib_shape, neib_step, mode)(neibs, *sizes)


__all__ = ["Images2Neibs", "Neibs2Images", "images2neibs", "neibs2images"]
