"""Hooks: behaviour a lower layer borrows from a higher one, which fills it in at its import.

graphcore's layers import only downward (packages/graphcore/docs/layers.md). A few
lower-layer features need a higher layer at run time: `Variable.eval()` compiles a
function, scalar ops write their gradients with tensor ops, a TensorVariable's
operators build tensor ops. The lower layer calls a hook defined here; the higher
layer registers the implementation when it is imported. `import graphcore` imports
every layer, so every hook is set before any graph exists.
"""

from __future__ import annotations


class Hook:
    """One function (or object) a higher layer provides; `get()` returns it, calling calls it."""

    def __init__(self, name, provider):
        self.name = name
        self.provider = provider
        self._value = None

    def register(self, value):
        """Set the implementation (the provider calls this at its import); returns `value`."""
        self._value = value
        return value

    def get(self):
        if self._value is None:
            raise RuntimeError(f"hook {self.name!r} is not set: {self.provider} sets it when it is "
                               "imported (import graphcore first)")
        return self._value

    def __call__(self, *args, **kwargs):
        return self.get()(*args, **kwargs)

    def __repr__(self):
        return f"<Hook {self.name} from {self.provider}>"


class Namespace:
    """Named functions several higher-layer modules provide; read them as attributes.

    Each module registers the names it defines (`register(reshape=reshape)`); an
    attribute lookup is a plain instance-dict read, cheap enough for operators.
    """

    def __init__(self, name, provider):
        self.__dict__["_name"] = name
        self.__dict__["_provider"] = provider

    def register(self, **functions):
        """Add (or replace) functions by name; the defining module calls this at its import."""
        self.__dict__.update(functions)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise AttributeError(f"{self._name}.{attr} is not registered: {self._provider} register "
                             "their functions when imported (import graphcore first)")

    def __setattr__(self, attr, value):
        raise AttributeError(f"{self._name}: use register({attr}=...)")

    def __repr__(self):
        return f"<Namespace {self._name} from {self._provider}>"


#: graphcore.compile.function.function, registered by that module. Variable.eval,
#: gradient.verify_grad and the JacobianRows op compile functions through it.
compile_function = Hook("compile_function", "graphcore.compile.function")

#: graphcore.gradient.grad, registered by graphcore.gradient: an op's L_op (a layer below)
#: that differentiates an inner expression of its own.
grad = Hook("grad", "graphcore.gradient")

#: graphcore.printing.debugprint, registered by graphcore.printing: Function.debugprint.
debugprint = Hook("debugprint", "graphcore.printing")

#: The tensor functions lower layers use, registered by the tensor modules that define them:
#: TensorType and as_tensor_variable (tensor.type, tensor.basic: scalar ops run on 0-d tensors,
#: clone_replace converts replacement values), the math namespace (tensor.math: scalar ops'
#: gradients, TensorVariable's operators), and the shape, indexing, joining and linear algebra
#: functions behind TensorVariable's methods (tensor.shape, subtensor, advanced_subtensor,
#: join, extra_ops, nlinalg).
tensor_api = Namespace("tensor_api", "graphcore.tensor's modules")
