"""Scalar ops -> CUDA C statements: the body of every generated elementwise loop.

Each scalar op class maps to a CUDA C expression per dtype kind (b bool,
i signed, u unsigned, f float) over the operands x, y, z; `{F}` expands to
`f` for float32 (`expf`) and to nothing for float64, `{T}` to the C type,
`{D}` to the dtype name (helpers in `prelude.py`). Operands are first cast
to the dtype NumPy's ufunc loop computes in (the same rules as graphrt-cpu's
bytecode compiler): NumPy's result type for arithmetic, the float dtype for
float functions, pairwise folding for variadic add/mul. An op or a dtype
with no entry raises `Unsupported`, naming it.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant
from graphcore.scalar import ops as so
from graphcore.scalar import special as sf
from graphcore.scalar.basic import float_of, upcast
from graphcore.scalar.composite import Composite

from graphrt_cuda.codegen.ctypes import DTYPES, UnsupportedDtype, ctype, fsuffix, kind, literal

_ALL = ("b", "i", "u", "f")
_NUM = ("i", "u", "f")


def _same(expr, kinds=_ALL):
    return {k: expr for k in kinds}


# scalar op class -> (how the working dtype is chosen, {kind: C expression})
#   "upcast": NumPy's result type of the operands; "float": the float compute dtype;
#   "cmp": compare in the operands' result type, produce bool
OPS: dict[type, tuple[str, dict[str, str]]] = {
    so.Sub: ("upcast", _same("x - y", _NUM)),
    so.TrueDiv: ("float", {"f": "x / y"}),
    so.IntDiv: ("upcast", {"i": "gc_floordiv_i(x, y)", "u": "(y ? x / y : ({T})0)",
                           "f": "gc_floordiv_{D}(x, y)"}),
    so.Mod: ("upcast", {"i": "gc_mod_i(x, y)", "u": "(y ? x % y : ({T})0)", "f": "gc_mod_{D}(x, y)"}),
    so.Pow: ("upcast", {"i": "gc_ipow(x, y)", "u": "gc_upow(x, y)", "f": "pow{F}(x, y)"}),
    so.Maximum: ("upcast", {"b": "(x | y)", "i": "(x >= y ? x : y)", "u": "(x >= y ? x : y)",
                            "f": "((x >= y || x != x) ? x : y)"}),
    so.Minimum: ("upcast", {"b": "(x & y)", "i": "(x <= y ? x : y)", "u": "(x <= y ? x : y)",
                            "f": "((x <= y || x != x) ? x : y)"}),
    so.Neg: ("upcast", _same("-x", _NUM)),
    so.Abs: ("upcast", {"b": "x", "i": "(x < 0 ? -x : x)", "u": "x", "f": "fabs{F}(x)"}),
    so.Sgn: ("upcast", {"i": "(({T})((x > 0) - (x < 0)))", "u": "(({T})(x > 0))",
                        "f": "(x > 0 ? ({T})1 : (x < 0 ? ({T})-1 : (x == 0 ? ({T})0 : x)))"}),
    so.Sqr: ("upcast", {"b": "x", "i": "x * x", "u": "x * x", "f": "x * x"}),
    so.Identity: ("upcast", _same("x")),
    so.Exp: ("float", {"f": "exp{F}(x)"}),
    so.Exp2: ("float", {"f": "exp2{F}(x)"}),
    so.Expm1: ("float", {"f": "expm1{F}(x)"}),
    so.Log: ("float", {"f": "log{F}(x)"}),
    so.Log2: ("float", {"f": "log2{F}(x)"}),
    so.Log10: ("float", {"f": "log10{F}(x)"}),
    so.Log1p: ("float", {"f": "log1p{F}(x)"}),
    so.Sqrt: ("float", {"f": "sqrt{F}(x)"}),
    so.Sin: ("float", {"f": "sin{F}(x)"}),
    so.Cos: ("float", {"f": "cos{F}(x)"}),
    so.Tanh: ("float", {"f": "tanh{F}(x)"}),
    so.Sigmoid: ("float", {"f": "(({T})1 / (({T})1 + exp{F}(-x)))"}),
    so.Softplus: ("float", {"f": "((x > 0 || x != x ? x : ({T})0) + log1p{F}(exp{F}(-fabs{F}(x))))"}),
    so.Reciprocal: ("float", {"f": "(({T})1 / x)"}),
    so.AND: ("upcast", _same("(x & y)", ("b", "i", "u"))),
    so.OR: ("upcast", _same("(x | y)", ("b", "i", "u"))),
    so.XOR: ("upcast", _same("(x ^ y)", ("b", "i", "u"))),
    so.Invert: ("upcast", {"b": "(!x)", "i": "(~x)", "u": "(({T})~x)"}),
    so.EQ: ("cmp", _same("(x == y)")),
    so.NEQ: ("cmp", _same("(x != y)")),
    so.LT: ("cmp", _same("(x < y)")),
    so.GT: ("cmp", _same("(x > y)")),
    so.LE: ("cmp", _same("(x <= y)")),
    so.GE: ("cmp", _same("(x >= y)")),
    so.IsNan: ("cmp", {"b": "false", "i": "false", "u": "false", "f": "(x != x)"}),
    so.IsInf: ("cmp", {"b": "false", "i": "false", "u": "false", "f": "(isinf(x) != 0)"}),
    # graphcore.scalar.special
    sf.Tan: ("float", {"f": "tan{F}(x)"}),
    sf.ArcSin: ("float", {"f": "asin{F}(x)"}),
    sf.ArcCos: ("float", {"f": "acos{F}(x)"}),
    sf.ArcTan: ("float", {"f": "atan{F}(x)"}),
    sf.Sinh: ("float", {"f": "sinh{F}(x)"}),
    sf.Cosh: ("float", {"f": "cosh{F}(x)"}),
    sf.ArcSinh: ("float", {"f": "asinh{F}(x)"}),
    sf.ArcCosh: ("float", {"f": "acosh{F}(x)"}),
    sf.ArcTanh: ("float", {"f": "atanh{F}(x)"}),
    sf.Deg2Rad: ("float", {"f": "(x * ({T})0.017453292519943295)"}),
    sf.Rad2Deg: ("float", {"f": "(x * ({T})57.29577951308232)"}),
    sf.ArcTan2: ("float", {"f": "atan2{F}(x, y)"}),
    sf.Floor: ("upcast", {"b": "x", "i": "x", "u": "x", "f": "floor{F}(x)"}),
    sf.Ceil: ("upcast", {"b": "x", "i": "x", "u": "x", "f": "ceil{F}(x)"}),
    sf.Trunc: ("upcast", {"b": "x", "i": "x", "u": "x", "f": "trunc{F}(x)"}),
    sf.RoundHalfToEven: ("upcast", {"i": "x", "u": "x", "f": "rint{F}(x)"}),
    sf.RoundHalfAwayFromZero: ("upcast", {"i": "x", "u": "x", "f": "round{F}(x)"}),
    sf.Clip: ("upcast", {"i": "gc_clip(x, y, z)", "u": "gc_clip(x, y, z)",
                         "f": "gc_clip_f(x, y, z)"}),
    sf.Erf: ("float", {"f": "erf{F}(x)"}),
    sf.Erfc: ("float", {"f": "erfc{F}(x)"}),
    sf.Erfinv: ("float", {"f": "erfinv{F}(x)"}),
    sf.Erfcinv: ("float", {"f": "erfcinv{F}(x)"}),
    sf.Erfcx: ("float", {"f": "erfcx{F}(x)"}),
    sf.Gamma: ("float", {"f": "tgamma{F}(x)"}),
    sf.GammaLn: ("float", {"f": "lgamma{F}(x)"}),
    sf.J0: ("float", {"f": "j0{F}(x)"}),
    sf.J1: ("float", {"f": "j1{F}(x)"}),
    sf.I0: ("float", {"f": "cyl_bessel_i0{F}(x)"}),
    sf.I1: ("float", {"f": "cyl_bessel_i1{F}(x)"}),
    sf.Log1mexp: ("float", {"f": "(x > ({T})-0.6931471805599453 ? log{F}(-expm1{F}(x)) "
                                 ": log1p{F}(-exp{F}(x)))"}),
    sf.LogAddExp: ("float", {"f": "gc_logaddexp_{D}(x, y)"}),
    sf.XlogX: ("float", {"f": "(x == 0 ? ({T})0 : x * log{F}(x))"}),
    sf.XlogY0: ("float", {"f": "(x == 0 ? ({T})0 : x * log{F}(y))"}),
}


class Unsupported(Exception):
    """A scalar op or dtype the CUDA code generator has no expression for (the message names it)."""


class Body:
    """Straight-line CUDA C over typed temporaries `t0, t1, ...` (one statement each)."""

    def __init__(self):
        self.dtypes: list[str] = []
        self.lines: list[str] = []

    def new(self, dtype, expr):
        dtype = np.dtype(dtype).name
        if dtype not in DTYPES:
            raise Unsupported(f"dtype {dtype}")
        name = f"t{len(self.dtypes)}"
        self.dtypes.append(dtype)
        self.lines.append(f"const {ctype(dtype)} {name} = {expr};")
        return name

    def dtype(self, var):
        return self.dtypes[int(var[1:])]

    def cast(self, var, dtype):
        dtype = np.dtype(dtype).name
        if self.dtype(var) == dtype:
            return var
        if dtype == "bool":
            return self.new(dtype, f"({var} != 0)")
        return self.new(dtype, f"({ctype(dtype)}){var}")

    def const(self, value, dtype):
        return self.new(dtype, literal(np.asarray(value, dtype=dtype).item(), dtype))

    def op(self, op, template_by_kind, dtype, args, result_dtype=None):
        k = kind(dtype)
        tpl = template_by_kind.get(k)
        if tpl is None:
            raise Unsupported(f"{op} on {dtype}")
        expr = tpl.replace("{F}", fsuffix(dtype) if k == "f" else "") \
            .replace("{T}", ctype(dtype)).replace("{D}", dtype)
        names = dict(zip("xyz", args))
        # substitute whole-word operands only
        out = []
        for tok in _tokens(expr):
            out.append(names.get(tok, tok))
        return self.new(result_dtype or dtype, "".join(out))


def _tokens(expr):
    """Split a C expression into identifier tokens and the text between them."""
    out, cur = [], ""
    for ch in expr:
        if ch.isalnum() or ch == "_":
            cur += ch
        else:
            if cur:
                out.append(cur)
                cur = ""
            out.append(ch)
    if cur:
        out.append(cur)
    return out


def emit(body: Body, op, args, out_dtypes):
    """Emit statements for scalar `op` applied to temporaries `args`; return its output temporaries."""
    t = type(op)
    dts = [body.dtype(a) for a in args]
    if t in (so.Add, so.Mul):
        acc = args[0]
        for nxt in args[1:]:
            w = upcast(body.dtype(acc), body.dtype(nxt))
            if kind(w) == "b":
                expr = "({x} | {y})" if t is so.Add else "({x} & {y})"
            else:
                expr = "({x} + {y})" if t is so.Add else "({x} * {y})"
            acc = body.new(w, expr.format(x=body.cast(acc, w), y=body.cast(nxt, w)))
        return [body.cast(acc, out_dtypes[0])]
    if t is so.Cast:
        return [body.cast(args[0], op.dtype)]
    if t is so.Second:
        return [body.cast(args[1], out_dtypes[0])]
    if t is so.Switch:
        w = out_dtypes[0]
        c, a, b = body.cast(args[0], "bool"), body.cast(args[1], w), body.cast(args[2], w)
        return [body.new(w, f"({c} ? {a} : {b})")]
    entry = OPS.get(t)
    if entry is None:
        raise Unsupported(f"scalar op {op} ({t.__name__})")
    rule, table = entry
    if rule == "float":
        w = float_of(upcast(*dts))
        out = body.op(op, table, w, [body.cast(a, w) for a in args])
    elif rule == "cmp":
        w = upcast(*dts)
        out = body.op(op, table, w, [body.cast(a, w) for a in args], result_dtype="bool")
    else:
        w = upcast(*dts)
        out = body.op(op, table, w, [body.cast(a, w) for a in args])
    return [body.cast(out, out_dtypes[0])]


def scalar_body(scalar_op, in_vars, in_dtypes, out_dtypes):
    """Statements computing `scalar_op` (a scalar op or a Composite) from C variables `in_vars`.

    Returns (Body, output temporaries cast to `out_dtypes`). Raises Unsupported.
    """
    body = Body()
    try:
        args = [body.new(d, v) for v, d in zip(in_vars, in_dtypes)]
        for d in out_dtypes:
            ctype(d)
    except UnsupportedDtype as exc:
        raise Unsupported(str(exc)) from None
    if isinstance(scalar_op, Composite):
        env = {id(v): a for v, a in zip(scalar_op.inputs, args)}

        def lookup(v):
            a = env.get(id(v))
            if a is None:
                if not isinstance(v, Constant):
                    raise Unsupported(f"inner variable {v}")
                a = body.const(v.data, v.type.dtype)
                env[id(v)] = a
            return a

        for node in scalar_op.nodes:
            outs = emit(body, node.op, [lookup(v) for v in node.inputs],
                        [o.type.dtype for o in node.outputs])
            for o, a in zip(node.outputs, outs):
                env[id(o)] = a
        outs = [lookup(o) for o in scalar_op.outputs]
    else:
        if getattr(scalar_op, "nout", 1) != 1:
            raise Unsupported(f"multi-output scalar op {scalar_op}")
        outs = emit(body, scalar_op, args, list(out_dtypes))
    return body, [body.cast(o, d) for o, d in zip(outs, out_dtypes)]


def supported_scalar_ops():
    """Every scalar op class the generator handles (the NVRTC tests compile each one)."""
    return [so.Add, so.Mul, so.Cast, so.Second, so.Switch] + list(OPS)
