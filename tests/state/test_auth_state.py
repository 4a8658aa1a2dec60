"""wslab.state.auth: the accounts and the ban list (thread-safe)."""

from __future__ import annotations

from wslab.core.auth import (
    DEMO_PASSWORDS,
    SECRET_BYTES,
)
from wslab.state.auth import UserTable

SECRET = b"k" * SECRET_BYTES


def test_the_demo_table_knows_the_demo_passwords() -> None:
    table = UserTable()
    assert table.names() == ["alice", "bob", "mallory"]
    for name, password in DEMO_PASSWORDS.items():
        assert table.verify(name, password)
        assert not table.verify(name, password + "!")
        assert not table.verify(name, password.upper())
    assert table.is_banned("mallory")
    assert not table.is_banned("alice")
    assert "alice" in table and "zed" not in table


def test_unknown_users_and_empty_passwords_are_refused() -> None:
    table = UserTable()
    assert not table.verify("zed", "wonderland")
    assert not table.verify("", "")
    assert not table.verify("alice", "")


def test_ban_unban_add() -> None:
    table = UserTable()
    table.ban("bob")
    table.ban("bob")  # idempotent
    assert table.is_banned("bob")
    table.unban("bob")
    table.unban("bob")
    assert not table.is_banned("bob")
    table.add("carol", "secret")
    assert table.verify("carol", "secret") and not table.verify("carol", "Secret")


def test_a_custom_table_bans_nobody_unless_asked() -> None:
    table = UserTable([], banned=None)
    assert table.names() == [] and not table.is_banned("mallory")
    assert UserTable(banned=[]).is_banned("mallory") is False
    assert UserTable([], banned=["x"]).is_banned("x")
