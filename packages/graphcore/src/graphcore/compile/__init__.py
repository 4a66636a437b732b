"""Compiling graphs: function(), In/Out, shared variables, modes."""

from graphcore.compile.builders import OpFromGraph
from graphcore.compile.function import UnusedInputError, function, function_dump
from graphcore.compile.function_module import Function, FunctionMaker
from graphcore.compile.io import In, Out
from graphcore.compile.debugmode import DebugMode, DebugModeError
from graphcore.compile.mode import (FAST_COMPILE, FAST_RUN, Mode, ProfileMode, get_default_mode,
                                    get_mode)
from graphcore.compile.monitormode import MonitorMode
from graphcore.compile.pfunc import Param, pfunc
from graphcore.compile.nanguardmode import NanGuardError, NanGuardMode
from graphcore.compile.sharedvalue import (SharedVariable, TensorSharedVariable, generic, shared,
                                           shared_constructor)

__all__ = ["function", "function_dump", "Function", "FunctionMaker", "In", "Out", "Mode", "get_mode", "FAST_RUN",
           "FAST_COMPILE", "SharedVariable", "TensorSharedVariable", "shared", "shared_constructor",
           "UnusedInputError", "OpFromGraph", "DebugMode", "DebugModeError", "NanGuardMode", "NanGuardError",
           "MonitorMode", "ProfileMode", "pfunc", "Param", "generic", "get_default_mode"]
