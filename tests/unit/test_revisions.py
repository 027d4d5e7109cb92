"""Task definition revision bookkeeping."""

from __future__ import annotations

import pytest

from ecsk.core.taskdefs import revisions as rv


def test_register_is_idempotent_and_numbers_from_one() -> None:
    revs, r1, created = rv.register([], "h1", "t1")
    assert (r1.revision, created) == (1, True)
    revs, again, created = rv.register(revs, "h1", "t2")
    assert (again.revision, created, len(revs)) == (1, False, 1)
    revs, r2, created = rv.register(revs, "h2", "t3")
    assert (r2.revision, created) == (2, True)
    revs, r3, created = rv.register(revs, "h1", "t4")  # going back registers anew
    assert (r3.revision, created) == (3, True)


def test_spec_hash_ignores_key_order() -> None:
    assert rv.spec_hash({"a": 1, "b": [1, 2]}) == rv.spec_hash({"b": [1, 2], "a": 1})
    assert rv.spec_hash({"a": 1}) != rv.spec_hash({"a": 2})


def test_parse_reference_forms() -> None:
    assert rv.parse_reference("web") == rv.Reference("web", None)
    assert rv.parse_reference("web:3") == rv.Reference("web", 3)
    assert rv.parse_reference("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7") == rv.Reference(
        "web", 7
    )
    with pytest.raises(rv.TaskDefinitionError):
        rv.parse_reference("web:x")


def test_resolve_and_deregister() -> None:
    revs = [rv.Revision(1, "a", "t"), rv.Revision(2, "b", "t"), rv.Revision(3, "c", "t")]
    assert rv.resolve("web", revs)[1].revision == 3
    revs = rv.deregister(revs, rv.parse_deregister_annotation("3, x,2"), "now")
    assert [r.status for r in revs] == ["ACTIVE", "INACTIVE", "INACTIVE"]
    assert revs[2].deregisteredAt == "now"
    assert rv.resolve("web", revs)[1].revision == 1
    with pytest.raises(rv.TaskDefinitionError, match="TaskDefinition is inactive"):
        rv.resolve("web:3", revs)
    assert rv.resolve("web:3", revs, allow_inactive=True)[1].revision == 3
    with pytest.raises(rv.TaskDefinitionError, match="Unable to describe task definition"):
        rv.resolve("web:9", revs)
    with pytest.raises(rv.TaskDefinitionError, match="No active task definition"):
        rv.resolve("web", rv.deregister(revs, [1], "now"))


def test_status_round_trip_skips_junk() -> None:
    revs = rv.revisions_from_status(
        [rv.Revision(2, "b", "t").to_dict(), {"bogus": 1}, rv.Revision(1, "a", "t").to_dict()]
    )
    assert [r.revision for r in revs] == [1, 2]


def test_arn_and_snapshot_name() -> None:
    assert rv.task_definition_arn("web", 4) == "arn:aws:ecs:us-east-1:000000000000:task-definition/web:4"
    assert rv.snapshot_name("web", 4) == "td-web-4"
    name = rv.snapshot_name("My_App", 1)
    assert name.startswith("td-my-app-") and name.endswith("-1") and name != rv.snapshot_name("my-app", 1)


def test_delete_moves_only_inactive_revisions_to_delete_in_progress() -> None:
    revs = [
        rv.Revision(1, "a", "t", "INACTIVE", "t1"),
        rv.Revision(2, "b", "t"),
        rv.Revision(3, "c", "t", "DELETE_IN_PROGRESS", "t1"),
    ]
    out = rv.mark_deleting(revs, {1, 2, 3})
    assert [r.status for r in out] == ["DELETE_IN_PROGRESS", "ACTIVE", "DELETE_IN_PROGRESS"]
    assert out[0].deregisteredAt == "t1"  # deregistration time kept
    assert rv.mark_deleting(out, set()) == out  # one-way: dropping a number changes nothing


def test_deleted_revisions_are_never_reused_nor_registered_again() -> None:
    live = [rv.Revision(1, "a", "t")]
    tombstones = [rv.Revision(2, "b", "t")]
    # the family's spec is still revision 2's (deleted): a resync registers nothing
    revs, rev, created = rv.register(live, "b", "now", tombstones)
    assert not created and revs == live and rev.revision == 2
    # a new spec gets 3, not 2 (ECS: "the revision is incremented the next time")
    revs, rev, created = rv.register(live, "c", "now", tombstones)
    assert created and rev.revision == 3 and [r.revision for r in revs] == [1, 3]
    # every revision deleted: numbering still continues
    assert rv.register([], "d", "now", [rv.Revision(5, "x", "t")])[1].revision == 6


def test_delete_in_progress_is_refused_for_new_references_like_inactive() -> None:
    revs = [rv.Revision(1, "a", "t"), rv.Revision(2, "b", "t", "DELETE_IN_PROGRESS")]
    with pytest.raises(rv.TaskDefinitionError, match="TaskDefinition is inactive"):
        rv.resolve("web:2", revs)
    assert rv.resolve("web:2", revs, allow_inactive=True)[1].revision == 2
    assert rv.resolve("web", revs)[1].revision == 1
    assert rv.Revision.from_dict(revs[1].to_dict()).status == "DELETE_IN_PROGRESS"
    assert rv.status_of("bogus") == "ACTIVE"


def test_every_registration_token_is_a_new_revision_an_unchanged_one_is_not() -> None:
    """ECS adds a revision on every RegisterTaskDefinition, even of identical JSON; a resync or an
    unchanged `kubectl apply` (same spec, same token) must add none."""
    identity = {"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
    plain = rv.registration_hash(identity, None)
    assert plain == rv.spec_hash(identity)  # kubectl-only objects keep their recorded hashes
    first = rv.registration_hash(identity, "token-1")
    assert first == rv.registration_hash(identity, "token-1") and first != plain
    revs, r1, created = rv.register([], first, "t1")
    assert created and r1.revision == 1
    revs, again, created = rv.register(revs, first, "t2")  # resync: same spec, same token
    assert not created and again.revision == 1
    revs, r2, created = rv.register(revs, rv.registration_hash(identity, "token-2"), "t3")
    assert created and r2.revision == 2  # the same JSON registered again
