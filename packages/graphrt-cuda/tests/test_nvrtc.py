"""Every kernel the code generator can emit compiles with NVRTC (no GPU needed).

CuPy's low-level `cupy.cuda.nvrtc` bindings load libnvrtc (the
`nvidia-cuda-nvrtc` wheel) without a driver or a device. The kernels are
compiled for compute_90, grouped into one translation unit per index width
(each kernel's code is that shared prelude plus its own text, so this
compiles exactly what a GPU would load); a compile error fails with the
NVRTC log.
"""

import hashlib

import pytest

nvrtc_missing = None
try:
    from graphrt_cuda.compiler import CompileError, compile_to_ptx, nvrtc_version

    nvrtc_version()
except Exception as exc:  # no CuPy, or no libnvrtc
    nvrtc_missing = f"NVRTC is not usable here ({type(exc).__name__}: {exc}); install " \
                    "requirements/test.txt (cupy-cuda13x, nvidia-cuda-nvrtc)"

pytestmark = pytest.mark.skipif(nvrtc_missing is not None, reason=str(nvrtc_missing))

from graphcore.scalar import ops as so  # noqa: E402

from graphrt_cuda.cache import default_cache_dir  # noqa: E402
from graphrt_cuda.codegen.catalogue import all_kernels  # noqa: E402
from graphrt_cuda.codegen.elemwise import elemwise_kernel  # noqa: E402
from graphrt_cuda.codegen.source import assemble_many  # noqa: E402

_PTX = {}


def _kernels_by_bits():
    groups = {32: [], 64: []}
    for ks in all_kernels():
        groups[ks.key[-2] if ks.key[0] == "reduce" else ks.key[-1]].append(ks)
    return groups


def _compiled(bits):
    """PTX of all kernels of one index width, compiled once per session."""
    if bits not in _PTX:
        group = _kernels_by_bits()[bits]
        source = assemble_many(bits, group)
        # the PTX of an unchanged translation unit is reused from the kernel cache directory
        # (a fresh checkout, as in CI, compiles everything)
        digest = hashlib.sha1(repr((source, nvrtc_version())).encode()).hexdigest()
        path = default_cache_dir() / "nvrtc-tests" / f"all_kernels_{bits}_{digest[:16]}.ptx"
        if path.exists():
            _PTX[bits] = (group, path.read_text())
            return _PTX[bits]
        try:
            ptx = compile_to_ptx(source, f"all_kernels_{bits}")
        except CompileError as exc:
            pytest.fail(f"a generated kernel does not compile:\n{exc.log}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ptx)
        _PTX[bits] = (group, ptx)
    return _PTX[bits]


@pytest.mark.parametrize("bits", [32, 64])
def test_every_generated_kernel_compiles(bits):
    group, ptx = _compiled(bits)
    assert group, "the catalogue lists kernels of this index width"
    missing = [ks.name for ks in group if f".entry {ks.name}(" not in ptx]
    assert not missing, f"kernels absent from the PTX: {missing[:5]}"


def test_catalogue_covers_every_family_and_many_kernels():
    kernels = all_kernels()
    families = {ks.key[0] for ks in kernels}
    assert families == {"elemwise", "reduce", "nnet"}
    assert len(kernels) > 1000
    assert len({ks.key for ks in kernels}) == len(kernels)
    assert len({ks.name for ks in kernels}) == len(kernels)


def test_a_single_kernel_compiles_on_its_own():
    ks = elemwise_kernel(so.exp, ["float32"], ["float32"], 2, [False, True], 32)
    ptx = compile_to_ptx(ks.code, ks.name)
    assert f".entry {ks.name}(" in ptx
    assert ".target sm_90" in ptx


def test_compile_error_carries_the_nvrtc_log():
    ks = elemwise_kernel(so.exp, ["float32"], ["float32"], 1, [True, True], 32)
    broken = ks.code.replace("expf(t0)", "expf(t0 +)")
    with pytest.raises(CompileError) as info:
        compile_to_ptx(broken, ks.name)
    assert "expected an expression" in info.value.log
    assert ks.name in str(info.value)
