"""A live progress bar for a file transfer: bytes sent, or bytes received."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from wslab.core.files import TransferProgress, human_size
from wslab.state.observable import Observers
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose

__all__ = ["TransferBar"]

_STYLES = {"active": "info", "done": "success", "failed": "danger"}


class TransferBar(UnsubscribeOnClose, widgets.HBox):  # type: ignore[misc]
    """Shows the newest :class:`~wslab.core.files.TransferProgress` of a source, live.

    The source is any ``Observers[TransferProgress]``: a
    :class:`~wslab.clients.files.FileClient`'s ``progress`` (the sender's
    side) or a ``files`` server's ``progress`` (the receiver's side, told on
    the server's thread and marshalled here to the kernel's).

    Attributes:
        shown: every progress shown, in order, so a notebook can check that
            the bar really moved through the chunks.
    """

    def __init__(self, source: Observers[TransferProgress], label: str = "", **kwargs: Any) -> None:
        self.label = label
        self.shown: list[TransferProgress] = []
        self.bar = widgets.IntProgress(min=0, max=1, value=0, bar_style="info")
        self.caption = widgets.HTML()
        super().__init__(
            [widgets.HTML(f"<b>{html.escape(label)}</b>"), self.bar, self.caption], **kwargs
        )
        self.caption.value = "<span style='color:#718096'>waiting for a transfer</span>"
        self._until_close(source.subscribe(OnKernelThread()(self.show)))

    def show(self, progress: TransferProgress) -> None:
        """Display ``progress`` (called for each update, on the kernel's thread)."""
        self.shown.append(progress)
        self.bar.max = max(progress.size, 1)
        self.bar.value = progress.size if progress.size == 0 else min(progress.done, progress.size)
        self.bar.bar_style = _STYLES[progress.status]
        status = {"active": "", "done": " ✔", "failed": f" ✘ {progress.detail}"}[progress.status]
        self.caption.value = (
            f"<code>{html.escape(progress.name)}</code> {human_size(progress.done)} of "
            f"{human_size(progress.size)} ({progress.fraction:.0%}){html.escape(status)}"
        )

    @property
    def value(self) -> int:
        """The bytes the bar shows now."""
        return int(self.bar.value)

    def close(self) -> None:
        self.bar.close()
        self.caption.close()
        super().close()
