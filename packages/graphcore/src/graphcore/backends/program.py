"""Program: the ordered instruction list every backend executes (the compiler/runtime seam).

A backend never re-plans the graph: it maps each instruction to a kernel.
Slots are numbered storage places; instructions name their input/output
slots, the slots that die after them (buffers a runtime may reuse) and their
in-place map (output i overwrites input slot j), as decided by the optimizer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from graphcore.backends.branches import plan_branches
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.fg import FunctionGraph
from graphcore.graph.op import Op
from graphcore.graph.type import Type


@dataclass(frozen=True)
class Slot:
    index: int
    variable: Variable  # the graph Variable stored here
    role: str  # "input", "constant" or "temp"
    value: Any = None  # the data of a constant slot
    mutable: bool = False  # an input the program may overwrite (In(mutable=True))

    @property
    def type(self) -> Type:
        return self.variable.type


@dataclass(frozen=True)
class Instruction:
    """Run `node.op` on the input slots, writing the output slots."""

    node: Apply
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    frees: tuple[int, ...] = ()  # slots whose value is dead after this instruction
    # output position -> input position overwritten
    inplace: dict[int, int] = field(default_factory=dict)
    views: dict[int, int] = field(default_factory=dict)  # output position -> input position it may view

    kind: ClassVar[str] = "apply"

    @property
    def op(self) -> Op:
        return self.node.op


@dataclass(frozen=True)
class Jump:
    """Continue at instruction `target`."""

    target: int
    kind: ClassVar[str] = "jump"


@dataclass(frozen=True)
class JumpUnless:
    """Continue at `target` when the boolean scalar in slot `cond` is false (lazy ifelse)."""

    cond: int
    target: int
    kind: ClassVar[str] = "jump_unless"


# One step of a Program.
Step = Instruction | Jump | JumpUnless


@dataclass
class Program:
    slots: list[Slot]
    instructions: list[Step]
    inputs: tuple[int, ...]  # slot of each fgraph input, in order
    outputs: tuple[int, ...]  # slot of each fgraph output, in order
    fgraph: FunctionGraph | None = None

    @property
    def nslots(self) -> int:
        return len(self.slots)

    def constant_slots(self) -> list[Slot]:
        return [s for s in self.slots if s.role == "constant"]

    def __str__(self) -> str:
        lines = [f"Program({len(self.slots)} slots, {len(self.instructions)} instructions)"]
        for k, ins in enumerate(self.instructions):
            if isinstance(ins, Instruction):
                extra = f" frees {list(ins.frees)}" if ins.frees else ""
                inpl = f" inplace {ins.inplace}" if ins.inplace else ""
                lines.append(f"  {k:3d}: {list(ins.outputs)} = {ins.node.op}{list(ins.inputs)}{extra}{inpl}")
            else:
                lines.append(f"  {k:3d}: {ins}")
        lines.append(f"  outputs: {list(self.outputs)}")
        return "\n".join(lines)


def build_program(fgraph: FunctionGraph, order: Sequence[Apply] | None = None,
                  mutable_inputs: Collection[int] = ()) -> Program:
    """Number the variables of `fgraph` and list its nodes in `order` (default: a toposort).

    Liveness is computed here: each instruction lists the temporaries whose
    last use it is, so a runtime can drop or reuse their buffers.
    """
    if order is None:
        order = fgraph.toposort()
    plan = plan_branches(fgraph, order)  # lazy ifelse: each branch's own nodes after a jump
    if plan is not None:
        order = plan.order
    slot_of: dict[Variable, int] = {}
    slots: list[Slot] = []

    def add(var: Variable, role: str, value: Any = None, mutable: bool = False) -> None:
        slot_of[var] = len(slots)
        slots.append(Slot(len(slots), var, role, value, mutable))

    mutable_inputs = set(mutable_inputs)
    for k, var in enumerate(fgraph.inputs):
        add(var, "input", mutable=k in mutable_inputs)
    for node in order:
        for var in node.inputs:
            if var not in slot_of:
                if isinstance(var, Constant):
                    add(var, "constant", var.data)
                else:
                    raise ValueError(f"build_program: {var} is used before it is computed")
        for var in node.outputs:
            add(var, "temp")
    for var in fgraph.outputs:
        if var not in slot_of:
            if isinstance(var, Constant):
                add(var, "constant", var.data)
            else:
                raise ValueError(f"build_program: output {var} is never computed")

    keep = {slot_of[v] for v in fgraph.outputs} | {slot_of[v] for v in fgraph.inputs}
    last_use: dict[int, int] = {}
    for k, node in enumerate(order):
        for var in node.inputs:
            last_use[slot_of[var]] = k
        for var in node.outputs:
            last_use.setdefault(slot_of[var], k)  # an unused output dies where it is made
    frees_at: dict[int, list[int]] = {}
    for s, k in last_use.items():
        if s not in keep and slots[s].role == "temp":
            frees_at.setdefault(k, []).append(s)

    instructions: list[Step] = []
    for k, node in enumerate(order):
        op = node.op
        instructions.append(Instruction(
            node=node,
            inputs=tuple(slot_of[v] for v in node.inputs),
            outputs=tuple(slot_of[v] for v in node.outputs),
            frees=tuple(sorted(frees_at.get(k, ()))),
            inplace={o: ins[0] for o, ins in getattr(op, "destroy_map", {}).items()},
            views={o: ins[0] for o, ins in getattr(op, "view_map", {}).items()},
        ))
    program = Program(slots, instructions, tuple(slot_of[v] for v in fgraph.inputs),
                      tuple(slot_of[v] for v in fgraph.outputs), fgraph)
    return program if plan is None else plan.add_jumps(program, Jump, JumpUnless)
