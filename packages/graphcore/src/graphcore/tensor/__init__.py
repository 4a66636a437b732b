"""The Theano-compatible tensor API: `import graphcore.tensor as T`."""

from graphcore.tensor.type import (CONSTRUCTORS as _CONSTRUCTORS, TensorType, tensor,  # noqa: F401
                                   tensor_type_from_value)
from graphcore.tensor.variable import TensorConstant, TensorVariable  # noqa: F401
from graphcore.tensor.basic import (Alloc, NotScalarConstantError, alloc, as_tensor,  # noqa: F401
                                    as_tensor_variable, cast, constant, full,
                                    get_scalar_constant_value, ones, transpose, zeros)
from graphcore.tensor.elemwise import DimShuffle, Elemwise  # noqa: F401
from graphcore.tensor.math import *  # noqa: F401,F403
from graphcore.tensor.reduction import Argmax, CAReduce, LogSumExp, Reduce  # noqa: F401
from graphcore.tensor.sort import ArgSort, ArgSortOp, Sort, TopK, TopKOp  # noqa: F401
from graphcore.tensor.cumulative import CumOp  # noqa: F401
from graphcore.tensor.shape import (Reshape, Shape, Shape_i, SpecifyShape, Unbroadcast,  # noqa: F401
                                    addbroadcast, broadcast_to, expand_dims, flatten, moveaxis,
                                    patternbroadcast, reshape, shape, shape_i, shape_padaxis,
                                    shape_padleft, shape_padright, size, specify_shape, squeeze,
                                    swapaxes, unbroadcast)
from graphcore.tensor.join import Join, Split, concatenate, join, split, stack, stacklists  # noqa: F401
from graphcore.tensor.dot import Dot, dot, matmul, outer  # noqa: F401
from graphcore.tensor.linalg_products import (MatMul, batched_dot, batched_tensordot,  # noqa: F401
                                              tensordot)
from graphcore.tensor.creation import (ARange, Eye, Tri, arange, eye, full_like,  # noqa: F401
                                       identity_like, linspace, mgrid, ogrid, tri, tril, triu)
from graphcore.tensor.extra_ops import (AllocDiag, ExtractDiag, Repeat, alloc_diag,  # noqa: F401
                                        bincount, diag, diagonal, diff, extract_diag,
                                        fill_diagonal, repeat, roll, tile)
from graphcore.tensor.extra_ops import (bartlett, fill_diagonal_offset, to_one_hot,  # noqa: F401
                                        unique)
from graphcore.tensor.index_tricks import (Choose, choose, ravel_multi_index,  # noqa: F401
                                           searchsorted, unravel_index)
from graphcore.tensor.join import horizontal_stack, vertical_stack  # noqa: F401
from graphcore.tensor.shape import get_vector_length  # noqa: F401
from graphcore.tensor.basic import extract_constant  # noqa: F401
from graphcore.tensor.nlinalg import trace  # noqa: F401
from graphcore.tensor import nlinalg, slinalg  # noqa: E402,F401  (T.nlinalg, T.slinalg)
from graphcore.tensor.subtensor import (IncSubtensor, Subtensor, getitem, inc_subtensor,  # noqa: F401
                                        set_subtensor)
from graphcore.tensor.advanced_subtensor import (AdvancedIncSubtensor,  # noqa: F401
                                                 AdvancedIncSubtensor1, AdvancedSubtensor,
                                                 AdvancedSubtensor1, Nonzero, flatnonzero,
                                                 nonzero, nonzero_values, take)
from graphcore.gradient import grad, jacobian, hessian, verify_grad, disconnected_grad, Lop, Rop  # noqa: F401
from graphcore.gradient import zero_grad, consider_constant, grad_clip, grad_scale  # noqa: F401,E402
from graphcore.gradient import numeric_grad  # noqa: F401,E402  (T.numeric_grad, as in Theano)
from graphcore.tensor import nnet  # noqa: E402,F401  (T.nnet, as in Theano)
from graphcore.tensor import signal  # noqa: E402,F401  (T.signal.pool, without a separate import)
from graphcore.tensor import blas  # noqa: E402,F401  (T.blas: Gemm, Gemv, Ger)
from graphcore.tensor import random, shared_randomstreams  # noqa: E402,F401  (T.shared_randomstreams)

Tensor = TensorType  # Theano's older name of the class

globals().update(_CONSTRUCTORS)
del _CONSTRUCTORS
