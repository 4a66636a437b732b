"""Compile a scalar op (or a Composite's inner graph) into elementwise bytecode at link time.

Each inner scalar node becomes typed opcodes that reproduce NumPy's
semantics exactly: operands are cast to the dtype NumPy's ufunc loop would
use (``np.result_type`` for arithmetic, the float compute dtype for float
functions, pairwise for variadic add/mul as the reference folds them), the
op runs in that dtype, and the result is cast to the node's output dtype.
An op or dtype without a native loop makes the whole compile return None,
and the Elemwise falls back to its ``perform``.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant
from graphcore.scalar import ops as so
from graphcore.scalar.basic import float_of, upcast
from graphcore.scalar.composite import Composite

from graphrt_cpu import ewspec

# scalar op class -> (opcode name, how the working dtype is chosen)
#   "upcast": NumPy's result type of the operands; "float": the float compute dtype;
#   "cmp": compare in the operands' result type, produce bool
_OPS = {
    so.Sub: ("sub", "upcast"), so.TrueDiv: ("true_div", "float"), so.IntDiv: ("int_div", "upcast"),
    so.Mod: ("mod", "upcast"), so.Pow: ("pow", "upcast"), so.Maximum: ("maximum", "upcast"),
    so.Minimum: ("minimum", "upcast"), so.Neg: ("neg", "upcast"), so.Abs: ("abs", "upcast"),
    so.Sgn: ("sgn", "upcast"), so.Sqr: ("sqr", "upcast"), so.Identity: ("copy", "upcast"),
    so.Exp: ("exp", "float"), so.Exp2: ("exp2", "float"), so.Expm1: ("expm1", "float"),
    so.Log: ("log", "float"), so.Log2: ("log2", "float"), so.Log10: ("log10", "float"),
    so.Log1p: ("log1p", "float"), so.Sqrt: ("sqrt", "float"), so.Sin: ("sin", "float"),
    so.Cos: ("cos", "float"), so.Tanh: ("tanh", "float"), so.Sigmoid: ("sigmoid", "float"),
    so.Softplus: ("softplus", "float"), so.Reciprocal: ("reciprocal", "float"),
    so.AND: ("and", "upcast"), so.OR: ("or", "upcast"), so.XOR: ("xor", "upcast"),
    so.Invert: ("invert", "upcast"),
    so.EQ: ("eq", "cmp"), so.NEQ: ("neq", "cmp"), so.LT: ("lt", "cmp"), so.GT: ("gt", "cmp"),
    so.LE: ("le", "cmp"), so.GE: ("ge", "cmp"), so.IsNan: ("isnan", "cmp"), so.IsInf: ("isinf", "cmp"),
}


class Unsupported(Exception):
    """The scalar graph has an op or dtype the bytecode interpreter does not run."""


class _Builder:
    def __init__(self):
        self.dtypes = []  # virtual register -> dtype name
        self.code = []  # (opcode, dst, a, b, c) over virtual registers
        self.consts = []  # (vreg, dtype, value)

    def reg(self, dtype):
        dtype = np.dtype(dtype).name
        if dtype not in ewspec.DTYPES:
            raise Unsupported(dtype)
        self.dtypes.append(dtype)
        return len(self.dtypes) - 1

    def const(self, value, dtype):
        r = self.reg(dtype)
        self.consts.append((r, self.dtypes[r], np.asarray(value, dtype=dtype)))
        return r

    def cast(self, r, dtype):
        dtype = np.dtype(dtype).name
        if self.dtypes[r] == dtype:
            return r
        out = self.reg(dtype)
        self.code.append((ewspec.cast_opcode(self.dtypes[r], dtype), out, r, r, r))
        return out

    def op(self, name, dtype, args, result_dtype=None):
        code = ewspec.opcode(name, dtype)
        if code is None:
            raise Unsupported(f"{name} on {dtype}")
        out = self.reg(result_dtype or dtype)
        a = list(args) + [args[0]] * (3 - len(args))
        self.code.append((code, out, a[0], a[1], a[2]))
        return out


def _emit(b, op, args, out_dtypes):
    """Emit opcodes for scalar `op` on virtual registers `args`; return the output registers."""
    t = type(op)
    dts = [b.dtypes[a] for a in args]
    if t in (so.Add, so.Mul):
        name = "add" if t is so.Add else "mul"
        acc = args[0]
        for nxt in args[1:]:
            w = upcast(b.dtypes[acc], b.dtypes[nxt])
            acc = b.op(name, w, [b.cast(acc, w), b.cast(nxt, w)])
        if len(args) == 1:
            acc = b.op("copy", b.dtypes[acc], [acc])
        return [b.cast(acc, out_dtypes[0])]
    if t is so.Cast:
        return [b.cast(args[0], op.dtype) if b.dtypes[args[0]] != op.dtype
                else b.op("copy", op.dtype, [args[0]])]
    if t is so.Second:
        return [b.cast(args[1], out_dtypes[0]) if b.dtypes[args[1]] != out_dtypes[0]
                else b.op("copy", out_dtypes[0], [args[1]])]
    if t is so.Switch:
        w = out_dtypes[0]
        return [b.op("switch", w, [b.cast(args[0], "bool"), b.cast(args[1], w), b.cast(args[2], w)])]
    entry = _OPS.get(t)
    if entry is None:
        raise Unsupported(str(op))
    name, rule = entry
    if rule == "float":
        w = float_of(upcast(*dts))
        out = b.op(name, w, [b.cast(a, w) for a in args])
    elif rule == "cmp":
        w = upcast(*dts)
        if {"int64", "uint64"} <= set(dts):
            raise Unsupported("int64/uint64 comparison")
        out = b.op(name, w, [b.cast(a, w) for a in args], result_dtype="bool")
    else:
        w = upcast(*dts)
        if t is so.Abs and np.dtype(w).kind == "c":
            raise Unsupported("complex abs")
        out = b.op(name, w, [b.cast(a, w) for a in args])
    return [b.cast(out, out_dtypes[0])]


def compile_elemwise(scalar_op, in_dtypes, out_dtypes):
    """Bytecode for `scalar_op` over inputs of `in_dtypes`, or None when not native.

    Returns a dict: code (opcode, dst, a, b, c) on physical registers, nregs,
    in_regs, out_regs, consts (reg, itemsize, raw bits), direct_out.
    """
    b = _Builder()
    try:
        in_regs = [b.reg(d) for d in in_dtypes]
        for d in out_dtypes:
            if np.dtype(d).name not in ewspec.DTYPES:
                raise Unsupported(d)
        if isinstance(scalar_op, Composite):
            env = {id(v): r for v, r in zip(scalar_op.inputs, in_regs)}

            def lookup(v):
                r = env.get(id(v))
                if r is None:
                    if not isinstance(v, Constant):
                        raise Unsupported(f"inner variable {v}")
                    r = b.const(v.data, v.type.dtype)
                    env[id(v)] = r
                return r

            for node in scalar_op.nodes:
                outs = _emit(b, node.op, [lookup(v) for v in node.inputs],
                             [o.type.dtype for o in node.outputs])
                for o, r in zip(node.outputs, outs):
                    env[id(o)] = r
            out_regs = [lookup(o) for o in scalar_op.outputs]
        else:
            out_regs = _emit(b, scalar_op, in_regs, list(out_dtypes))
            if scalar_op.nout != 1:
                raise Unsupported("multi-output scalar op")
        out_regs = [b.cast(r, d) for r, d in zip(out_regs, out_dtypes)]
    except Unsupported:
        return None
    return _allocate(b, in_regs, out_regs)


def _allocate(b, in_regs, out_regs):
    """Map virtual registers to physical ones: temporaries share registers once dead;
    inputs, constants and outputs keep their own (an input register may point into the
    input array, and an output register may point into the output array)."""
    pinned = set(in_regs) | set(out_regs) | {r for r, _, _ in b.consts}
    last = {}
    for k, (_, dst, a1, a2, a3) in enumerate(b.code):
        for r in (a1, a2, a3):
            last[r] = k
    phys = {}
    nphys = 0
    for r in sorted(pinned):
        phys[r] = nphys
        nphys += 1
    free = []
    code = []
    for k, (opc, dst, a1, a2, a3) in enumerate(b.code):
        srcs = (phys[a1], phys[a2], phys[a3])
        # operands whose last use is here can be recycled after this instruction
        if dst not in phys:
            if free:
                phys[dst] = free.pop()
            else:
                phys[dst] = nphys
                nphys += 1
        code.append((opc, phys[dst], *srcs))
        for r in {a1, a2, a3}:
            if last.get(r) == k and r not in pinned:
                free.append(phys[r])
        if dst not in pinned and dst not in last:
            free.append(phys[dst])  # a dead result
    consts = []
    for r, dtype, value in b.consts:
        raw = np.zeros(1, dtype=np.uint64)
        raw.view(np.uint8)[: value.dtype.itemsize] = np.frombuffer(value.tobytes(), dtype=np.uint8)
        consts.append((phys[r], value.dtype.itemsize, int(raw[0])))
    direct_out = (len(out_regs) == 1 and bool(code) and b.code[-1][1] == out_regs[0]
                  and out_regs[0] not in in_regs)
    return {
        "code": code, "nregs": max(1, nphys), "in_regs": [phys[r] for r in in_regs],
        "in_sizes": [np.dtype(b.dtypes[r]).itemsize for r in in_regs],
        "out_regs": [phys[r] for r in out_regs],
        "out_sizes": [np.dtype(b.dtypes[r]).itemsize for r in out_regs],
        "consts": consts, "direct_out": direct_out,
    }
