"""The roster's merge of one person's connections (pure logic): a JupyterLab says which room notebook they are in and
whether they present; their kernel, tracked later without those fields, must not erase them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nbrealtime.features.members import Roster

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def meta(at: int, **fields: object) -> dict[str, object]:
    return {"name": "ann", "color": "#000", "status": "online", "updated_at": (T0 + timedelta(seconds=at)).isoformat(),
            **fields}  # fmt: skip


def test_the_lab_connection_keeps_its_notebook_and_presenting_beside_a_later_kernel_meta() -> None:
    roster = Roster()
    lab = meta(1, cell="c1", activity="editing", notebook="nb-1", presenting=T0.isoformat())
    kernel = meta(2, cell=None, activity=None)
    roster.apply_presence({"ann": [lab, kernel]}, T0 + timedelta(seconds=3))
    ann = roster.members(T0 + timedelta(seconds=3))[0]
    assert (ann.notebook, ann.presenting) == ("nb-1", T0.isoformat())


def test_a_broadcast_without_the_fields_leaves_them_and_one_with_them_replaces_them() -> None:
    roster = Roster()
    roster.apply_presence({"ann": [meta(1, notebook="nb-1")]}, T0 + timedelta(seconds=1))
    roster.apply_activity("ann", {"cell": "c9"}, T0 + timedelta(seconds=2))  # a kernel's fast path
    assert roster.members(T0 + timedelta(seconds=2))[0].notebook == "nb-1"
    roster.apply_activity("ann", {"notebook": None, "cell": None}, T0 + timedelta(seconds=3))  # JupyterLab: nowhere
    assert roster.members(T0 + timedelta(seconds=3))[0].notebook is None


def test_leaving_ends_notebook_and_presenting() -> None:
    roster = Roster(leave_grace=1.0)
    roster.apply_presence({"ann": [meta(1, notebook="nb-1", presenting=T0.isoformat())]}, T0 + timedelta(seconds=1))
    roster.apply_presence({}, T0 + timedelta(seconds=2))
    gone = roster.members(T0 + timedelta(seconds=4))[0]
    assert (gone.status, gone.notebook, gone.presenting) == ("offline", None, None)
