"""wslab.state.observable: a thread-safe observer list."""

from __future__ import annotations

import threading

from wslab.state.observable import Observers


def test_notify_calls_every_callback_in_order() -> None:
    seen: list[tuple[str, int]] = []
    obs: Observers[int] = Observers()
    obs.subscribe(lambda v: seen.append(("a", v)))
    obs.subscribe(lambda v: seen.append(("b", v)))
    assert obs.notify(1) == []
    assert obs.notify(2) == []
    assert seen == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert len(obs) == 2


def test_unsubscribe_is_idempotent() -> None:
    seen: list[int] = []
    obs: Observers[int] = Observers()
    unsubscribe = obs.subscribe(seen.append)
    obs.notify(1)
    unsubscribe()
    unsubscribe()
    obs.notify(2)
    assert seen == [1]
    assert len(obs) == 0


def test_raising_callback_does_not_stop_the_others() -> None:
    seen: list[int] = []
    obs: Observers[int] = Observers()
    boom = RuntimeError("broken view")

    def broken(value: int) -> None:
        raise boom

    obs.subscribe(broken)
    obs.subscribe(seen.append)
    errors = obs.notify(7)
    assert errors == [boom]
    assert seen == [7]
    # Dropped from that notification only: it is still subscribed.
    assert len(obs) == 2
    assert obs.notify(8) == [boom]
    assert seen == [7, 8]


def test_callback_may_unsubscribe_itself_during_notify() -> None:
    seen: list[str] = []
    obs: Observers[int] = Observers()

    def once(value: int) -> None:
        seen.append(f"once {value}")
        unsubscribe()

    unsubscribe = obs.subscribe(once)
    obs.subscribe(lambda v: seen.append(f"always {v}"))
    obs.notify(1)
    obs.notify(2)
    assert seen == ["once 1", "always 1", "always 2"]


def test_callback_may_subscribe_during_notify_without_being_called_now() -> None:
    seen: list[str] = []
    obs: Observers[int] = Observers()

    def adder(value: int) -> None:
        seen.append(f"adder {value}")
        if value == 1:
            obs.subscribe(lambda v: seen.append(f"late {v}"))

    obs.subscribe(adder)
    obs.notify(1)
    obs.notify(2)
    assert seen == ["adder 1", "adder 2", "late 2"]


def test_subscribe_and_notify_from_many_threads() -> None:
    obs: Observers[int] = Observers()
    counts = [0] * 8
    lock = threading.Lock()

    def work(i: int) -> None:
        def bump(value: int) -> None:
            with lock:
                counts[i] += 1

        unsubscribe = obs.subscribe(bump)
        for n in range(200):
            obs.notify(n)
        unsubscribe()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(obs) == 0
    # Each callback saw at least its own thread's 200 notifications.
    assert all(count >= 200 for count in counts)
