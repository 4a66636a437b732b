"""Neural-network ops, Theano's `theano.tensor.nnet` (`T.nnet`).

activations (sigmoid, relu, elu, ...), softmax / log_softmax, cross-entropy
losses and the fused softmax cross-entropy ops, conv2d / conv3d and their
gradient ops (Theano's abstract_conv names too), batch normalization
(`T.nnet.bn`), dropout, patch extraction (`neighbours`), h_softmax and
confusion_matrix. Pooling is in `graphcore.tensor.signal.pool`, Theano's
module path.
"""

from graphcore.tensor.nnet.activations import (elu, hard_sigmoid, relu, selu, sigmoid,  # noqa: F401
                                               softplus, softsign, ultra_fast_sigmoid)
from graphcore.tensor.nnet.softmax import (LogSoftmax, LogSoftmaxGrad, Softmax,  # noqa: F401
                                           SoftmaxGrad, log_softmax, log_softmax_grad, logsoftmax,
                                           softmax, softmax_grad, softmax_graph, softmax_with_bias)
from graphcore.tensor.nnet.crossentropy import (  # noqa: F401
    CrossentropyCategorical1Hot, CrossentropyCategorical1HotGrad,
    CrossentropySoftmax1HotWithBiasDx, CrossentropySoftmaxArgmax1HotWithBias, binary_crossentropy,
    categorical_crossentropy, confusion_matrix, crossentropy_categorical_1hot,
    crossentropy_categorical_1hot_grad,
    crossentropy_softmax_1hot, crossentropy_softmax_1hot_with_bias,
    crossentropy_softmax_1hot_with_bias_dx, crossentropy_softmax_argmax_1hot_with_bias,
    crossentropy_softmax_max_and_argmax_1hot, crossentropy_softmax_max_and_argmax_1hot_with_bias,
    sigmoid_binary_crossentropy)
from graphcore.tensor.nnet.conv import (Conv2d, Conv2dGradInputs, Conv2dGradWeights,  # noqa: F401
                                        Conv3d, Conv3dGradInputs, Conv3dGradWeights, conv2d,
                                        conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                                        conv2d_transpose, conv3d, conv3d_grad_wrt_inputs,
                                        conv3d_grad_wrt_weights, get_conv_output_shape,
                                        separable_conv2d, separable_conv3d)
from graphcore.tensor.nnet import bn  # noqa: F401
from graphcore.tensor.nnet.bn import (batch_normalization, batch_normalization_test,  # noqa: F401
                                      batch_normalization_train)
from graphcore.tensor.nnet.dropout import dropout  # noqa: F401
from graphcore.tensor.nnet import neighbours  # noqa: F401
from graphcore.tensor.nnet.h_softmax import h_softmax  # noqa: F401
from graphcore.tensor.nnet.neighbours import images2neibs, neibs2images  # noqa: F401

from graphcore.tensor.nnet import abstract_conv, nnet, sigm  # noqa: F401,E402  (Theano's module paths)
from graphcore.tensor.nnet.abstract_conv import (AbstractConv2d,  # noqa: F401,E402
                                                 AbstractConv2d_gradInputs,
                                                 AbstractConv2d_gradWeights, AbstractConv3d,
                                                 AbstractConv3d_gradInputs,
                                                 AbstractConv3d_gradWeights, bilinear_upsampling)
