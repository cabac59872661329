"""The grader's side of the conversation with one sandboxed worker.

:class:`Session` runs a cell of the student's (:meth:`Session.run`) or calls one of their
functions (:meth:`Session.call`), each with a deadline, and meanwhile answers the worker's
callbacks: em_lib's functions the assignment's answers may call (``served``), and, during a
call, the functions a test put in place of the student's own (``helpers``). Whatever goes
wrong on the other side (an endless loop, a dead process, the memory limit, a garbled
frame) ends the sandbox and is reported as a :class:`Stopped` with a sentence for the
learner; the session is then dead and the caller starts another.
"""

import time

import numpy as np

from .launch import Sandbox
from .wire import ChannelClosed, ChannelTimeout, WireError

#: The arguments of one callback may not hold more array bytes than this.
MAX_CALLBACK_BYTES = 16 << 20


class Stopped(Exception):
    """The sandbox ended before answering; ``reason`` is a sentence for the learner."""

    def __init__(self, reason, kind):
        super().__init__(reason)
        self.reason, self.kind = reason, kind   # kind: "timeout", "memory", "died", "garbled"


def _array_bytes(value, depth=0):
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)) and depth < 64:
        return sum(_array_bytes(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 64:
        return sum(_array_bytes(v, depth + 1) for v in value.values())
    return 0


class Session:
    """One sandbox, from start to :meth:`close`."""

    def __init__(self, kind, settings, served, limits, protect=()):
        self.served = dict(served)   # "em_lib.log_joint" -> the trusted function
        self.sandbox = Sandbox(kind, settings, limits, protect)
        self.sandbox.wait_ready()
        self.alive = True

    # -- the two requests ---------------------------------------------------------------

    def run(self, source, label, capture, timeout):
        """Run a cell; its outputs (nbformat dicts) if ``capture``. Raises :class:`Stopped`."""
        reply = self._request({"op": "run", "source": source, "label": label, "capture": bool(capture)},
                              timeout, {}, ("ran",), what="this cell")
        outputs = reply.get("outputs")
        return outputs if isinstance(outputs, list) else []

    def call(self, name, args, kwargs, helpers, timeout):
        """Call the student's ``name``: ``("returned", value, changed)`` or ``("raised", ename, evalue, where)``.

        ``changed`` lists the arguments the call changed in place (keyword names, ``#0`` for positional
        ones): the student's copies changed, the grader's stay as they were.

        ``helpers`` ({name: function}) are bound in the student's namespace for the call, each
        running here. Raises :class:`Stopped`.
        """
        reply = self._request({"op": "call", "name": name, "args": list(args), "kwargs": dict(kwargs),
                               "helpers": sorted(helpers)}, timeout, helpers, ("returned", "raised"),
                              what="it")
        if reply["op"] == "returned":
            changed = reply.get("changed")
            changed = tuple(c for c in changed if isinstance(c, str))[:100] if isinstance(changed, list) else ()
            return ("returned", reply.get("value"), changed)
        text = lambda key, limit: str(reply.get(key, ""))[:limit]  # noqa: E731
        return ("raised", text("ename", 100) or "Exception", text("evalue", 2000), text("where", 300))

    # -- the conversation -------------------------------------------------------------------

    def _request(self, request, timeout, helpers, done, what):
        if not self.alive:
            raise Stopped("the sandbox had already stopped", "died")
        deadline = time.monotonic() + timeout
        try:
            self.sandbox.channel.send(request, deadline)
            while True:
                reply = self.sandbox.channel.receive(deadline)
                op = reply.get("op") if isinstance(reply, dict) else None
                if op in done:
                    return reply
                if op != "callback":
                    raise WireError(f"unexpected message {op!r}")
                self.sandbox.channel.send(self._callback(reply, helpers), deadline)
        except ChannelTimeout:
            self._stop()
            raise Stopped(f"{what} was still running after {round(timeout, 1):g} s, so it was stopped "
                          "(look for an endless loop, or a loop that waits for something that never comes)",
                          "timeout") from None
        except ChannelClosed:
            memory = self.sandbox.out_of_memory()
            self._stop()
            if memory:
                raise Stopped(f"{what} used more than the {self.sandbox.limits.memory_mb} MB of memory a "
                              "graded notebook may use, so it was stopped", "memory") from None
            raise Stopped("the Python process running your code died (os._exit, a crash, or running out of "
                          "memory)", "died") from None
        except WireError as error:
            self._stop()
            raise Stopped(f"the process running your code sent something the grader cannot read ({error}), "
                          "so it was stopped", "garbled") from None

    def _callback(self, message, helpers):
        name, args, kwargs = message.get("name"), message.get("args"), message.get("kwargs")
        function = helpers.get(name) if isinstance(name, str) else None
        if function is None and isinstance(name, str):
            function = self.served.get(name)
        if function is None:
            return {"op": "callback_raised", "ename": "NameError",
                    "evalue": f"{name!r} is not available when your notebook is graded"}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"op": "callback_raised", "ename": "TypeError", "evalue": "malformed arguments"}
        if _array_bytes(args) + _array_bytes(kwargs) > MAX_CALLBACK_BYTES:
            return {"op": "callback_raised", "ename": "MemoryError",
                    "evalue": f"the arguments of {name} are larger than {MAX_CALLBACK_BYTES >> 20} MB"}
        try:
            return {"op": "callback_returned", "value": function(*args, **kwargs)}
        except Exception as exc:  # noqa: BLE001 (the reference refusing the student's arguments)
            return {"op": "callback_raised", "ename": type(exc).__name__, "evalue": str(exc)[:2000]}

    def _stop(self):
        self.alive = False
        self.sandbox.kill()

    def close(self):
        if self.alive:
            self.alive = False
            self.sandbox.close()
