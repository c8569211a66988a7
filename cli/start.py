"""The ``lkvault`` console script's module: importing it takes over Ctrl-C and SIGTERM at once.

pip's generated wrapper imports this module and only then calls ``main()``. Python's
``signal`` module, the entry point's imports and the wrapper's own lines take some
hundredths of a second on a loaded machine, and a signal in that time printed a traceback
and ended the process by the signal. So the first thing lkvault runs installs, with the
interpreter's built-in ``_signal`` alone, a handler that ends the process at once with one
line and exit 130 or 143 (nothing is open or written yet); ``main`` then hands over to
``entry``, which installs the command line's own handlers. Only the console script imports
this module: importing it changes how the whole process answers signals.
"""

import os

_signal = __import__("_signal")  # built in: no module to load (``signal`` builds enums)

_LINES = {
    _signal.SIGINT: b"lkvault: error: interrupted\n",
    _signal.SIGTERM: b"lkvault: error: terminated (SIGTERM)\n",
}


def _exit_at_once(signum: int, frame: object) -> None:
    os.write(2, _LINES.get(signum, b"lkvault: error: interrupted\n"))
    os._exit(128 + signum)


for _number in _LINES:
    if _signal.getsignal(_number) is not _signal.SIG_IGN:  # e.g. nohup: keep ignoring
        _signal.signal(_number, _exit_at_once)


def main() -> None:
    """What the ``lkvault`` command runs."""
    from lkvault.cli import entry

    entry.main()
