"""Long work off Blender's main thread: a `Job` runs pure `inference` code in a thread, counts its
progress and stops when asked, while a modal operator keeps the UI alive (and ESC working).

The thread never touches bpy: gathering inputs and writing results stay on the main thread.
`begin_progress` / `end_progress` are the modal operator's side: the status-bar progress, the
timer that polls the job, and `WindowManager.lipkit` (what the panels show while it runs).
"""

from __future__ import annotations

import threading

TIMER_SECONDS = 0.1


class Job:
    """`work(progress, should_cancel)` in a daemon thread; poll `done`, then take `result()`."""

    def __init__(self, work):
        self._work = work
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._result = None
        self._error = None
        self._thread = threading.Thread(target=self._run, name="lipkit-job", daemon=True)

    def start(self) -> "Job":
        self._thread.start()
        return self

    def _progress(self, done: int, total: int):
        with self._lock:
            self._fraction = done / total if total else 0.0

    def _run(self):
        try:
            self._result = self._work(self._progress, self._cancel.is_set)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by result()
            self._error = exc

    @property
    def fraction(self) -> float:
        with self._lock:
            return self._fraction

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def cancel(self):
        self._cancel.set()

    def wait(self, timeout=None):
        self._thread.join(timeout)

    def result(self):
        """The work's return value; its exception (e.g. `CancelledError`) is raised here."""
        if self._error is not None:
            raise self._error
        return self._result


def already_running(operator, context) -> bool:
    """True, with an error reported on `operator`, while another job runs (one at a time)."""
    if context.window_manager.lipkit.running:
        operator.report({"ERROR"}, "a generation is already running: wait for it or press ESC")
        return True
    return False


def begin_progress(operator, context, message: str):
    """Start `operator`'s modal run: job state, progress bar, and a polling timer (returned)."""
    wm = context.window_manager
    wm.lipkit.running, wm.lipkit.progress, wm.lipkit.message = True, 0.0, message
    wm.progress_begin(0, 100)
    timer = wm.event_timer_add(TIMER_SECONDS, window=context.window)
    wm.modal_handler_add(operator)
    return timer


def end_progress(context, timer):
    """End a modal run started by `begin_progress`."""
    wm = context.window_manager
    wm.event_timer_remove(timer)
    wm.progress_end()
    wm.lipkit.running = False
    wm.lipkit.message = ""
