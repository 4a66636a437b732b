"""The Theano-compatible tensor API: `import graphcore.tensor as T`."""

from graphcore.tensor.type import (CONSTRUCTORS as _CONSTRUCTORS, TensorType, tensor,  # noqa: F401
                                   tensor_type_from_value)
from graphcore.tensor.variable import TensorConstant, TensorVariable  # noqa: F401
from graphcore.tensor.basic import (Alloc, NotScalarConstantError, alloc, as_tensor,  # noqa: F401
                                    as_tensor_variable, cast, constant, full,
                                    get_scalar_constant_value, ones, transpose, zeros)
from graphcore.tensor.elemwise import DimShuffle, Elemwise  # noqa: F401
from graphcore.tensor.math import *  # noqa: F401,F403
from graphcore.tensor.reduction import Argmax, Reduce  # noqa: F401
from graphcore.tensor.shape import (Reshape, Shape, Shape_i, SpecifyShape, flatten,  # noqa: F401
                                    reshape, shape, shape_i, shape_padaxis, shape_padleft,
                                    shape_padright, specify_shape)
from graphcore.tensor.join import Join, concatenate, join, stack  # noqa: F401
from graphcore.tensor.dot import Dot, dot, matmul, outer  # noqa: F401
from graphcore.tensor.subtensor import (IncSubtensor, Subtensor, getitem, inc_subtensor,  # noqa: F401
                                        set_subtensor)
from graphcore.tensor.advanced_subtensor import (AdvancedIncSubtensor,  # noqa: F401
                                                 AdvancedIncSubtensor1, AdvancedSubtensor,
                                                 AdvancedSubtensor1, Nonzero, flatnonzero,
                                                 nonzero, nonzero_values, take)
from graphcore.gradient import grad, jacobian, hessian, verify_grad, disconnected_grad  # noqa: F401
from graphcore.tensor import nnet  # noqa: E402,F401  (T.nnet, as in Theano)

globals().update(_CONSTRUCTORS)
del _CONSTRUCTORS
