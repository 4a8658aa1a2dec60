"""wslab.core.chat: who is online, as plain data."""

from __future__ import annotations

import pytest

from wslab.core.chat import NameTaken, Roster


def test_join_in_order() -> None:
    roster: Roster[str] = Roster()
    roster.join("k1", "Ada")
    roster.join("k2", "Grace")
    roster.join("k3", "李雷")
    assert roster.names() == ["Ada", "Grace", "李雷"]
    assert roster.members() == ["k1", "k2", "k3"]
    assert len(roster) == 3
    assert "k2" in roster
    assert "k9" not in roster
    assert roster.name_of("k3") == "李雷"
    assert roster.name_of("k9") is None


def test_leave_returns_the_name_and_keeps_order() -> None:
    roster: Roster[int] = Roster()
    for key, name in enumerate(["Ada", "Grace", "Linus"]):
        roster.join(key, name)
    assert roster.leave(1) == "Grace"
    assert roster.leave(1) is None
    assert roster.names() == ["Ada", "Linus"]
    assert roster.members() == [0, 2]
    assert len(roster) == 2
    # The name is free again once its owner left.
    roster.join(5, "grace")
    assert roster.names() == ["Ada", "Linus", "grace"]


def test_name_taken_is_case_insensitive() -> None:
    roster: Roster[str] = Roster()
    roster.join("k1", "Ada")
    for name in ("Ada", "ada", "ADA", "aDa"):
        with pytest.raises(NameTaken, match="is already taken"):
            roster.join("k2", name)
    assert roster.names() == ["Ada"]
    assert "k2" not in roster


def test_name_taken_uses_casefold() -> None:
    roster: Roster[str] = Roster()
    roster.join("k1", "Straße")
    with pytest.raises(NameTaken):
        roster.join("k2", "STRASSE")


def test_name_taken_is_a_value_error_with_the_name() -> None:
    roster: Roster[str] = Roster()
    roster.join("k1", "Ada")
    with pytest.raises(ValueError, match="the name 'ada' is already taken"):
        roster.join("k2", "ada")


def test_rename_keeps_position_and_may_change_case() -> None:
    roster: Roster[str] = Roster()
    roster.join("k1", "Ada")
    roster.join("k2", "Grace")
    roster.join("k1", "ADA")
    assert roster.names() == ["ADA", "Grace"]
    roster.join("k1", "Countess")
    assert roster.names() == ["Countess", "Grace"]
    assert roster.name_of("k1") == "Countess"
    # The old name is free for someone else.
    roster.join("k3", "Ada")
    assert roster.names() == ["Countess", "Grace", "Ada"]
