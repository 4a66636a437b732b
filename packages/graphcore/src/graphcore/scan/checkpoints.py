"""scan_checkpoints: a loop that stores its states only every `save_every_N` steps.

    values, updates = scan_checkpoints(step, sequences=x, outputs_info=h0, save_every_N=10)

A scan over chunks of `save_every_N` steps, each chunk an inner scan; the
outer loop keeps only the state at the end of each chunk, so the gradient
(a reverse scan over the chunks) recomputes each chunk's steps from its
starting state instead of storing all of them: memory O(n/N + N) states
instead of O(n), for about one more forward pass of time.

As in Theano: the result holds the states at the end of each chunk
(ceil(n_steps / save_every_N) entries; the last is the final state), every
output must be a recurrent state with taps [-1] (no map-like outputs), and
the step function may not return updates. The sequences are padded to whole
chunks; the last chunk runs only its real steps (`padding` is accepted for
compatibility).
"""

from __future__ import annotations

from graphcore.scan.basic import _as_list, scan
from graphcore.tensor.basic import as_tensor_variable, zeros
from graphcore.tensor.creation import arange
from graphcore.tensor.join import concatenate
from graphcore.tensor.math import ceil_intdiv, minimum
from graphcore.tensor.shape import reshape


def scan_checkpoints(fn, sequences=None, outputs_info=None, non_sequences=None,
                     name="checkpointscan_fn", n_steps=None, save_every_N=10, padding=True):
    """scan(fn, ...) keeping the states every `save_every_N` steps (see the module docstring)."""
    seqs = [as_tensor_variable(s) for s in _as_list(sequences)]
    states = _as_list(outputs_info)
    non_seqs = _as_list(non_sequences)
    for k, o in enumerate(states):
        if o is None or (isinstance(o, dict) and list(o.get("taps", [-1]) or [-1]) != [-1]):
            raise NotImplementedError(
                f"scan_checkpoints: outputs_info[{k}] is {o!r}; only recurrent states with "
                "taps [-1] are supported (no map-like outputs, no other taps)")
    states = [o["initial"] if isinstance(o, dict) else o for o in states]
    if not isinstance(save_every_N, int) or save_every_N < 1:
        raise ValueError(f"scan_checkpoints: save_every_N must be an int >= 1, got {save_every_N!r}")
    N = save_every_N
    if n_steps is None:
        if not seqs:
            raise ValueError("scan_checkpoints: give n_steps or at least one sequence")
        n = seqs[0].shape[0]
        for s in seqs[1:]:
            n = minimum(n, s.shape[0])
    else:
        n = as_tensor_variable(n_steps)
    n_chunks = ceil_intdiv(n, N)
    chunked = []
    for s in seqs:
        s = s[:n]
        pad = zeros((n_chunks * N - n,) + tuple(s.shape[d] for d in range(1, s.ndim)),
                    dtype=s.dtype)
        full = concatenate([s, pad])
        chunked.append(reshape(full, (n_chunks, N) + tuple(s.shape[d] for d in range(1, s.ndim)),
                               ndim=s.ndim + 1))
    lengths = minimum(N, n - arange(n_chunks) * N)
    n_seq = len(chunked)

    def outer_step(*args):
        chunk_seqs = list(args[:n_seq])
        length = args[n_seq]
        carried = list(args[n_seq + 1:n_seq + 1 + len(states)])
        rest = list(args[n_seq + 1 + len(states):])
        out, updates = scan(fn, sequences=chunk_seqs, outputs_info=carried, non_sequences=rest,
                            n_steps=length, return_list=True, name=f"{name}_inner")
        if updates:
            raise NotImplementedError("scan_checkpoints: the step function may not return updates")
        return [o[-1] for o in out]

    return scan(outer_step, sequences=chunked + [lengths], outputs_info=states,
                non_sequences=non_seqs, n_steps=n_chunks, name=f"{name}_outer")
