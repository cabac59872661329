"""Grade one function at a time: put em_lib's references in place of the learner's earlier functions.

A learner's later function often calls one of their earlier ones: notebook 01's
``log_likelihood`` calls their ``log_joint``, notebook 04's ``fit_em`` their
``e_step`` and ``m_step``. A graded test of the later function runs inside
:func:`using_reference`, so a mistake in the earlier function costs its points
once, in its own cells, and not again in the later function's cells.

:func:`blame` does the same for a self-check: when the later function is wrong with
the learner's own helpers but right with em_lib's, the message says which of the
learner's functions to fix first.
"""

from contextlib import contextmanager

from .core import placed, reworded

_MISSING = object()


@contextmanager
def using_reference(namespace, **functions):
    """Inside the ``with`` block, each ``name=function`` given replaces ``namespace[name]``.

    ``namespace`` is the notebook's ``globals()``, where the learner's functions live.
    Everything is put back afterwards, even when the block raises, and a name that was
    not defined before is removed again::

        with feedback.using_reference(globals(), log_joint=em_lib.log_joint):
            feedback.check_log_likelihood(log_likelihood, ...)
    """
    if not functions:
        raise ValueError("using_reference needs at least one name=function to put in place")
    for name, function in functions.items():
        if not callable(function):
            raise TypeError(f"using_reference: {name} must be a function, got {type(function).__name__}")
    saved = {name: namespace.get(name, _MISSING) for name in functions}
    namespace.update(functions)
    try:
        with placed(functions.values()):  # the learner's code may call these: they were put there for it
            yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def blame(check, fn_name, namespace, **functions):
    """Run ``check()``; if it fails, say whether the learner's helpers are to blame.

    ``check`` is a thunk that raises ``AssertionError`` when the learner's function
    ``fn_name`` is wrong. When it fails, it is run again with ``functions`` (em_lib's
    references) put in place in ``namespace``. If it then passes, the function itself
    is right and a helper it calls is not: the ``AssertionError`` raised says so and
    names the helpers. If it fails again, the function has a mistake of its own, and
    the failure found on em_lib's helpers is raised, since it names that mistake (with
    a note when the learner's helpers change the answer too). With ``namespace`` None,
    or a helper the learner has not defined, ``check`` runs once.
    """
    try:
        return check()
    except AssertionError as exc:
        first = exc
    if namespace is None or any(name not in namespace for name in functions):
        raise first
    names = list(functions)
    helpers = " and ".join(names)
    own = "their" if len(names) > 1 else "its"
    with using_reference(namespace, **functions):
        try:
            check()
        except AssertionError as exc:
            second = exc
        else:
            second = None
    if second is not None:
        # wrong even with em_lib's helpers: name the function's own mistake, found on right helpers
        if str(second) == str(first):
            raise first
        raise reworded(  # a MistakeFound keeps its mistake id
            second,
            f"{second} (With em_lib's {helpers} in place of yours, that is; with your own {helpers} the "
            f"answer differs again, so check {helpers} too: see {own} self-check.)"
        ) from None
    either = " or ".join(names)
    verb = "is" if len(names) == 1 else "are"
    raise AssertionError(
        f"{fn_name}(...) gives the right answer when em_lib's {helpers} {verb} put in place of yours, but not "
        f"with yours: the mistake is in your {either}, so fix {'it' if len(names) == 1 else 'them'} first (see "
        f"{own} self-check{'s' if len(names) > 1 else ''}). When graded, {fn_name} is checked with em_lib's "
        f"{helpers}, so a mistake in {either} costs only {own} own points."
    ) from None
