"""The elementwise opcode table: one source for the C generator (build time) and the lowering (link time).

An opcode is a typed, monomorphic loop over one block of registers
(numexpr's design): ``opcode = op_index * NDTYPES + dtype_code`` for the
ops below, and ``CAST_BASE + from_code * NDTYPES + to_code`` for casts.
Each op gives a C expression per dtype kind -- ``b`` bool, ``i`` signed,
``u`` unsigned, ``f`` float -- over the operands ``x``, ``y``, ``z``; ``{F}``
expands to ``f`` for float32 (``expf``) and to nothing for float64, ``{T}``
to the C type and ``{D}`` to the dtype name (helpers are per-dtype inline
functions in the generated header). A kind missing from an op means the
runtime has no native loop for it and the Elemwise falls back to ``perform``.

This module is plain data with no imports, so the CMake-run generator can
load it by path without graphcore installed.
"""

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64")
CTYPES = ("npy_bool", "npy_int8", "npy_int16", "npy_int32", "npy_int64", "npy_uint8", "npy_uint16",
          "npy_uint32", "npy_uint64", "npy_float32", "npy_float64")
KINDS = ("b", "i", "i", "i", "i", "u", "u", "u", "u", "f", "f")
NDTYPES = len(DTYPES)

# (name, number of operands, result: "same" (the operand dtype) or "bool", {kind: C expression})
OPS = (
    ("copy", 1, "same", {"b": "x", "i": "x", "u": "x", "f": "x"}),
    ("add", 2, "same", {"b": "x | y", "i": "x + y", "u": "x + y", "f": "x + y"}),
    ("sub", 2, "same", {"i": "x - y", "u": "x - y", "f": "x - y"}),
    ("mul", 2, "same", {"b": "x & y", "i": "x * y", "u": "x * y", "f": "x * y"}),
    ("true_div", 2, "same", {"f": "x / y"}),
    ("int_div", 2, "same", {"i": "grc_floordiv_{D}(x, y)", "u": "(y ? x / y : 0)",
                            "f": "grc_floordiv_{D}(x, y)"}),
    ("mod", 2, "same", {"i": "grc_mod_{D}(x, y)", "u": "(y ? x % y : 0)", "f": "grc_mod_{D}(x, y)"}),
    ("pow", 2, "same", {"f": "pow{F}(x, y)"}),
    ("maximum", 2, "same", {"b": "x | y", "i": "(x >= y ? x : y)", "u": "(x >= y ? x : y)",
                            "f": "((x >= y || x != x) ? x : y)"}),
    ("minimum", 2, "same", {"b": "x & y", "i": "(x <= y ? x : y)", "u": "(x <= y ? x : y)",
                            "f": "((x <= y || x != x) ? x : y)"}),
    ("neg", 1, "same", {"i": "-x", "u": "-x", "f": "-x"}),
    ("abs", 1, "same", {"b": "x", "i": "(x < 0 ? -x : x)", "u": "x", "f": "fabs{F}(x)"}),
    ("sgn", 1, "same", {"i": "((x > 0) - (x < 0))", "u": "(x > 0)",
                        "f": "(x > 0 ? 1 : (x < 0 ? -1 : (x == 0 ? 0 : x)))"}),
    ("sqr", 1, "same", {"b": "x", "i": "x * x", "u": "x * x", "f": "x * x"}),
    ("exp", 1, "same", {"f": "exp{F}(x)"}),
    ("exp2", 1, "same", {"f": "exp2{F}(x)"}),
    ("expm1", 1, "same", {"f": "expm1{F}(x)"}),
    ("log", 1, "same", {"f": "log{F}(x)"}),
    ("log2", 1, "same", {"f": "log2{F}(x)"}),
    ("log10", 1, "same", {"f": "log10{F}(x)"}),
    ("log1p", 1, "same", {"f": "log1p{F}(x)"}),
    ("sqrt", 1, "same", {"f": "sqrt{F}(x)"}),
    ("sin", 1, "same", {"f": "sin{F}(x)"}),
    ("cos", 1, "same", {"f": "cos{F}(x)"}),
    ("tanh", 1, "same", {"f": "tanh{F}(x)"}),
    ("sigmoid", 1, "same", {"f": "(({T})1 / (({T})1 + exp{F}(-x)))"}),
    ("softplus", 1, "same", {"f": "((x > 0 || x != x ? x : ({T})0) + log1p{F}(exp{F}(-fabs{F}(x))))"}),
    ("reciprocal", 1, "same", {"f": "(({T})1 / x)"}),
    ("and", 2, "same", {"b": "x & y", "i": "x & y", "u": "x & y"}),
    ("or", 2, "same", {"b": "x | y", "i": "x | y", "u": "x | y"}),
    ("xor", 2, "same", {"b": "x ^ y", "i": "x ^ y", "u": "x ^ y"}),
    ("invert", 1, "same", {"b": "!x", "i": "~x", "u": "~x"}),
    ("eq", 2, "bool", {"b": "x == y", "i": "x == y", "u": "x == y", "f": "x == y"}),
    ("neq", 2, "bool", {"b": "x != y", "i": "x != y", "u": "x != y", "f": "x != y"}),
    ("lt", 2, "bool", {"b": "x < y", "i": "x < y", "u": "x < y", "f": "x < y"}),
    ("gt", 2, "bool", {"b": "x > y", "i": "x > y", "u": "x > y", "f": "x > y"}),
    ("le", 2, "bool", {"b": "x <= y", "i": "x <= y", "u": "x <= y", "f": "x <= y"}),
    ("ge", 2, "bool", {"b": "x >= y", "i": "x >= y", "u": "x >= y", "f": "x >= y"}),
    ("isnan", 1, "bool", {"f": "x != x"}),
    ("isinf", 1, "bool", {"f": "(x == x && (x - x) != (x - x))"}),
    # switch(cond, a, b): the condition register is bool, a and b the op dtype
    ("switch", 3, "same", {"b": "(x ? y : z)", "i": "(x ? y : z)", "u": "(x ? y : z)",
                           "f": "(x ? y : z)"}),
)
OP_INDEX = {name: k for k, (name, *_rest) in enumerate(OPS)}
CAST_BASE = len(OPS) * NDTYPES
NOPCODES = CAST_BASE + NDTYPES * NDTYPES
# float64 and float32 ops that the generated C runs through libmvec's AVX2 vector variants when
# the CPU has AVX2 (glibc's libmvec, <= 4 ulp; same functions NumPy's SVML loops approximate).
MVEC = ("exp", "log", "sin", "cos", "tanh", "expm1", "log1p", "exp2", "log2", "log10")


def opcode(name, dtype):
    """The opcode of op `name` on `dtype`, or None when there is no native loop for it."""
    k = OP_INDEX.get(name)
    if k is None or dtype not in DTYPES:
        return None
    d = DTYPES.index(dtype)
    if KINDS[d] not in OPS[k][3]:
        return None
    return k * NDTYPES + d


def cast_opcode(src, dst):
    return CAST_BASE + DTYPES.index(src) * NDTYPES + DTYPES.index(dst)
