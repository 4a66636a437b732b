"""Transfer ops: host -> GPU at a function's inputs, GPU -> host at its outputs (graph nodes).

`rewrites.py` inserts them for functions compiled for the cuda backend, so
`debugprint` shows where data crosses the bus. The types stay TensorTypes:
on the cuda backend a tensor register holds a CuPy array, except an
integer or bool scalar input (a shape or an index), which stays on the host.
"""

from __future__ import annotations

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable

from graphrt_cuda._cupy import cupy


def to_device(value):
    """A CuPy array for `value`: CuPy arrays as they are (no copy), any `__dlpack__` producer
    (PyTorch, JAX) through DLPack without a copy, anything else (NumPy) copied in."""
    cp = cupy()
    if isinstance(value, cp.ndarray):
        return value
    if hasattr(value, "__cuda_array_interface__") or (
            hasattr(value, "__dlpack__") and not hasattr(value, "__array_interface__")):
        return cp.from_dlpack(value)
    return cp.asarray(value)


def to_host(value):
    """A NumPy array for `value` (a device->host copy for a CuPy array)."""
    cp = cupy()
    if isinstance(value, cp.ndarray):
        return cp.asnumpy(value)
    return value


class GpuFromHost(Op):
    """Copy a host array to the GPU (a CuPy or DLPack array is used in place, not copied)."""

    view_map = {0: [0]}  # the output may be the input itself: never overwritten in place

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = to_device(inputs[0])

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, output_grads):
        return [output_grads[0]]


class HostFromGpu(Op):
    """Copy a GPU array back to the host as a NumPy array."""

    fresh_outputs = True

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = to_host(inputs[0])

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, output_grads):
        return [output_grads[0]]


gpu_from_host = GpuFromHost()
host_from_gpu = HostFromGpu()
