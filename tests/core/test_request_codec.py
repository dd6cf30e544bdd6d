"""Journal schema 2: a model request is stored as the messages it adds and hashed as a chain, so a
step costs O(new messages); reading gives the whole request back; replay, resume, fork and divergence
keep their meaning; a schema-1 journal is migrated when opened; effects share group commits."""

import asyncio
import sqlite3

import pytest

import agentzoo
from agentzoo import Gateway, Journal, Scope
from agentzoo.errors import JournalError
from agentzoo.runtime.entry import SCHEMA_VERSION
from agentzoo.runtime.request_codec import RequestEncoder, RequestExpander
from agentzoo.types import ModelRequest
from helpers.adder import adder




def stored_requests(path, run_id):
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT seq, length(request) FROM entries WHERE run_id=? AND kind='model' ORDER BY id",
                          (run_id,)).fetchall()
    finally:
        db.close()


async def test_stored_bytes_per_step_do_not_grow_with_the_run(tmp_path):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        result = await agentzoo.run(adder(200), "add", journal=journal)
    sizes = [n for _, n in stored_requests(path, result.run_id)]
    assert len(sizes) == 200
    # The 10th and the 190th model call add the same two messages (tool call, tool result).
    assert sizes[189] <= sizes[9] + 20
    # The tool list is stored once, not per step.
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    db.close()


async def test_reading_gives_each_request_whole_as_the_model_got_it(tmp_path):
    path = tmp_path / "j.db"
    agent = adder(30)
    with Journal(path) as journal:
        result = await agentzoo.run(agent, "add", journal=journal)
    sent = [r.to_json() for r in agent.model.requests]
    with Journal(path) as journal:
        models = [e for e in journal.entries(result.run_id) if e.kind == "model"]
        assert [e.request["messages"] for e in models] == [r["messages"] for r in sent]
        assert models[5].request["tools"] == sent[5]["tools"] and models[5].request["model"] == "scripted"
    # One entry read alone (no earlier one read first) walks back its chain of prefixes.
    with Journal(path) as journal:
        assert journal.get(result.run_id, "", models[25].seq).request["messages"] == sent[25]["messages"]


async def test_replay_of_a_long_run_matches_and_a_changed_old_message_diverges_by_path(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        first = await agentzoo.run(adder(60), "add", journal=journal)
        again = await agentzoo.replay(adder(60, silent=True), first.run_id, journal=journal)
        assert again.answer == "done" and again.live_effects == 0
        diverged = await agentzoo.replay(adder(60, "Add, carefully.", silent=True), first.run_id, journal=journal)
        assert diverged.error["type"] == "DivergenceError"
        assert "seq 0" in diverged.error["message"] and "$.messages[0].content" in diverged.error["message"]


async def test_fork_and_resume_write_entries_that_read_back_whole(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        parent = await agentzoo.run(adder(12), "add", journal=journal)
        child = await agentzoo.fork(adder(12, system="Add!"), parent.run_id, journal=journal)
        assert child.ok
        fresh = await agentzoo.run(adder(12, system="Add!"), "add", journal=journal)
        got = [e.request for e in journal.entries(child.run_id) if e.kind == "model"]
        want = [e.request for e in journal.entries(fresh.run_id) if e.kind == "model"]
        assert got == want
        assert [e.request_hash for e in journal.entries(child.run_id)] == \
               [e.request_hash for e in journal.entries(fresh.run_id)]


async def test_a_secret_in_a_message_is_masked_in_the_entry_and_replay_still_matches(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_API_KEY", "sk-acme-0123456789abcdef")
    with Journal(tmp_path / "j.db") as journal:
        first = await agentzoo.run(adder(4), "add; my key is sk-acme-0123456789abcdef", journal=journal)
        models = [e for e in journal.entries(first.run_id) if e.kind == "model"]
        text = str([e.request for e in models])
        assert "sk-acme-0123456789abcdef" not in text and "my key is ***" in text
        again = await agentzoo.replay(adder(4, silent=True), first.run_id, journal=journal)
        assert again.answer == "done"


def test_the_encoder_shares_a_prefix_by_identity_and_stores_a_rebuilt_one_whole():
    encoder = RequestEncoder()
    a, b, c = {"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "x"}
    first = encoder.encode("", 0, {"messages": [a, b], "model": "m"})
    encoder.advance(first)
    second = encoder.encode("", 2, {"messages": [a, b, c], "model": "m"})
    assert b'"$prefix":{"seq":0,"keep":2}' in second.stored and second.stored.count(b'"role"') == 1
    # Equal content, different objects: stored whole, and the hash is the same as if shared.
    rebuilt = RequestEncoder().encode("", 2, {"messages": [dict(a), dict(b), dict(c)], "model": "m"})
    assert rebuilt.stored.count(b'"role"') == 3 and rebuilt.digest == second.digest
    # Any change (a field, a message, the order) changes the hash.
    assert RequestEncoder().encode("", 0, {"messages": [a, b], "model": "n"}).digest != first.digest
    assert RequestEncoder().encode("", 0, {"messages": [b, a], "model": "m"}).digest != first.digest


def test_a_message_rebuilt_equal_is_shared_but_by_value_wants_the_same_json():
    encoder = RequestEncoder()
    a, b = {"role": "system", "content": "s"}, {"role": "user", "content": "u", "n": 1}
    encoder.advance(encoder.encode("", 0, {"messages": [a, b], "model": "m"}))
    # A loop that rebuilds its messages each step (equal dicts, new objects) is stored by what it adds.
    rebuilt = encoder.encode("", 1, {"messages": [dict(a), dict(b), {"role": "user", "content": "v"}], "model": "m"})
    assert b'"$prefix":{"seq":0,"keep":2}' in rebuilt.stored and rebuilt.stored.count(b'"role"') == 1
    # Requests read back from JSON (a migration) share a message only if its JSON is the same: 1.0 is not 1.
    strict = RequestEncoder(by_value=True)
    strict.advance(strict.encode("", 0, {"messages": [a, b], "model": "m"}))
    other = strict.encode("", 1, {"messages": [dict(a), {**b, "n": 1.0}], "model": "m"})
    assert b'"keep":1' in other.stored and b'"n":1.0' in other.stored
    assert other.digest == RequestEncoder().encode("", 1, {"messages": [a, {**b, "n": 1.0}], "model": "m"}).digest


def test_a_new_list_of_the_same_tools_reuses_their_blob_and_a_changed_tool_gets_its_own():
    spec = {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {}}}}
    other = {"type": "function", "function": {"name": "sub", "parameters": {"type": "object", "properties": {}}}}
    encoder = RequestEncoder()
    first = encoder.encode("", 0, {"messages": [], "tools": [spec]})
    again = encoder.encode("", 1, {"messages": [], "tools": [spec]})  # a new list of the same specs, as agents send
    rebuilt = encoder.encode("", 2, {"messages": [], "tools": [{**spec}]})  # equal specs, new objects
    changed = encoder.encode("", 3, {"messages": [], "tools": [spec, other]})
    alone = RequestEncoder().encode("", 3, {"messages": [], "tools": [spec, other]})
    assert first.digest == again.digest == rebuilt.digest and list(first.blobs) == list(again.blobs)
    assert changed.digest == alone.digest != first.digest
    assert list(changed.blobs) == list(alone.blobs) != list(first.blobs)
    # After a change, the first list is not taken for the current one.
    assert encoder.encode("", 4, {"messages": [], "tools": [spec]}).digest == first.digest


def test_a_long_scope_extends_one_chain_and_an_abandoned_request_does_not_leak_into_the_next():
    encoder = RequestEncoder()
    conversation = [{"role": "user", "content": "go"}]
    encoder.advance(encoder.encode("", 0, {"messages": list(conversation), "model": "m"}))
    for step in range(1, 50):
        conversation.append({"role": "assistant", "content": str(step)})
        encoded = encoder.encode("", step, {"messages": list(conversation), "model": "m"})
        encoder.advance(encoded)
    fresh = RequestEncoder().encode("", 49, {"messages": list(conversation), "model": "m"})
    assert encoded.digest == fresh.digest and encoded.stored.count(b'"role"') == 1
    # A request encoded but never recorded (a budget stopped it) is forgotten: the next one, encoded from the
    # same state with other messages, hashes and stores as if the first had never been made.
    encoder.encode("", 50, {"messages": conversation + [{"role": "user", "content": "abandoned"}], "model": "m"})
    taken = encoder.encode("", 50, {"messages": conversation + [{"role": "user", "content": "taken"}], "model": "m"})
    alone = RequestEncoder().encode("", 50, {"messages": conversation + [{"role": "user", "content": "taken"}],
                                             "model": "m"})
    assert taken.digest == alone.digest and b"abandoned" not in taken.stored


def test_a_masked_request_handed_to_the_program_keeps_its_length_when_the_next_is_encoded(monkeypatch):
    from agentzoo.runtime import secrets

    monkeypatch.setenv("ACME_API_KEY", "sk-acme-0123456789abcdef")
    redactor = secrets.current(reread_env=True)
    encoder = RequestEncoder()
    conversation = [{"role": "user", "content": "key sk-acme-0123456789abcdef"}]
    first = encoder.encode("", 0, {"messages": list(conversation), "model": "m"}, redactor)
    encoder.advance(first)
    assert first.request["messages"] == [{"role": "user", "content": "key ***"}]
    conversation.append({"role": "assistant", "content": "ok"})
    second = encoder.encode("", 1, {"messages": list(conversation), "model": "m"}, redactor)
    assert len(first.request["messages"]) == 1 and len(second.request["messages"]) == 2
    # A secret in another field than the messages is found by the same single scan.
    third = encoder.encode("", 1, {"messages": list(conversation), "model": "m",
                                   "extra": {"note": "sk-acme-0123456789abcdef"}}, redactor)
    assert b"sk-acme" not in third.stored and third.request["extra"] == {"note": "***"}


def test_a_broken_chain_is_a_value_error_naming_the_missing_link():
    expander = RequestExpander(lambda run, scope, seq: None, lambda digest: None)
    with pytest.raises(ValueError, match="builds on the model request at seq 3, which is missing"):
        expander.expand("r", "", 5, {"messages": [], "$prefix": {"seq": 3, "keep": 1}})
    with pytest.raises(ValueError, match="not a reference to an earlier entry"):
        expander.expand("r", "", 5, {"messages": [], "$prefix": {"seq": 9, "keep": 1}})
    with pytest.raises(ValueError, match="blob .* which is missing"):
        expander.expand("r", "", 5, {"messages": [], "tools": {"$blob": "ab" * 32}})


async def test_a_schema_1_journal_is_migrated_on_open_and_its_runs_replay(tmp_path):
    path = tmp_path / "old.db"
    with Journal(path) as journal:
        first = await agentzoo.run(adder(8), "add", journal=journal)
        whole = [(e.seq, e.request) for e in journal.entries(first.run_id)]
    # Write it back as schema 1 did: whole requests, hashed whole, no blobs table.
    db = sqlite3.connect(path)
    for seq, request in whole:
        db.execute("UPDATE entries SET request=?, request_hash=? WHERE run_id=? AND seq=?",
                   (agentzoo._json.dumps_str(request), agentzoo._json.request_hash(request), first.run_id, seq))
    db.execute("DROP TABLE blobs")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Journal(path) as journal:
        assert [(e.seq, e.request) for e in journal.entries(first.run_id)] == whole
        again = await agentzoo.replay(adder(8, silent=True), first.run_id, journal=journal)
        assert again.answer == "done"
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    later = db.execute("SELECT request FROM entries WHERE kind='model' AND seq > 0").fetchall()
    db.close()
    assert later and all('"$prefix"' in r and '"role":"system"' not in r for (r,) in later)  # only what they add


def test_a_journal_from_a_newer_agentzoo_is_refused(tmp_path):
    path = tmp_path / "new.db"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(path)


class CountingJournal(Journal):
    def __init__(self, path):
        super().__init__(path)
        self.transactions = 0
        self._db.set_trace_callback(self._trace)

    def _trace(self, sql):
        if sql.startswith("BEGIN") or sql.startswith("INSERT INTO entries"):
            self.transactions += 1 if sql.startswith("BEGIN") else 0


async def test_effects_that_finish_together_share_one_commit_and_none_returns_before_it(tmp_path):
    journal = CountingJournal(tmp_path / "j.db")
    gateway = Gateway(run_id="r", journal=journal)
    seen_committed = []

    async def one(i):
        async def perform():
            return {"i": i}
        result = await gateway.effect(Scope(f"w{i}"), "tool", "t", {"i": i}, perform)
        # The result is used only once its entry is in the database (read by another connection).
        db = sqlite3.connect(tmp_path / "j.db")
        seen_committed.append(db.execute("SELECT COUNT(*) FROM entries WHERE scope=?", (f"w{i}",)).fetchone()[0])
        db.close()
        return result

    results = await asyncio.gather(*(one(i) for i in range(50)))
    assert [r["i"] for r in results] == list(range(50)) and seen_committed == [1] * 50
    assert journal.transactions == 1
    journal.close()


async def test_a_failed_group_commit_fails_its_effects_and_keeps_their_entries(tmp_path):
    journal = Journal(tmp_path / "j.db")
    gateway = Gateway(run_id="r", journal=journal)
    real = journal._commit_locked
    failures = [sqlite3.OperationalError("disk I/O error")]

    def flaky(*args, **kwargs):
        if failures:  # the first commit fails before writing anything
            raise failures.pop()
        return real(*args, **kwargs)

    journal._commit_locked = flaky

    async def perform():
        return {"ok": True}

    with pytest.raises(sqlite3.OperationalError):
        await gateway.effect(Scope(""), "tool", "t", {}, perform)
    journal._commit_locked = real
    journal.commit()  # the entry waited in memory and goes in now
    assert [e.result for e in journal.entries("r")] == [{"ok": True}]
    journal.close()


async def test_requests_built_by_the_loop_are_new_objects_never_changed_in_place(tmp_path):
    """The encoder's contract: a message once sent is not changed in place. The loop keeps it."""
    agent = adder(6)
    snapshots = []
    original = agent.model.complete

    async def spy(request: ModelRequest, **kw):
        snapshots.append([(id(m), agentzoo._json.dumps(m)) for m in request.messages])
        return await original(request, **kw)

    agent.model.complete = spy
    await agentzoo.run(agent, "add", journal=Journal(":memory:"))
    final = {id(m): agentzoo._json.dumps(m) for m in agent.model.requests[-1].messages}
    for snapshot in snapshots:
        for ident, text in snapshot:
            if ident in final:
                assert final[ident] == text


async def test_a_run_record_moves_a_run_to_another_journal_whole(tmp_path):
    with Journal(tmp_path / "worker.db") as worker:
        made = await agentzoo.run(adder(10), "add", journal=worker)
        record = worker.run_record(made.run_id)
        want = list(worker.entries(made.run_id))
    record = agentzoo._json.loads(agentzoo._json.dumps(record))  # it crosses a process as plain JSON
    with Journal(tmp_path / "driver.db") as driver:
        assert driver.add_run_record(record) == made.run_id
        assert list(driver.entries(made.run_id)) == want and driver.get_run(made.run_id).answer == "done"
        again = await agentzoo.replay(adder(10, silent=True), made.run_id, journal=driver)
        assert again.answer == "done"
        with pytest.raises(JournalError, match="already has a run"):
            driver.add_run_record(record)
        assert len(list(driver.entries(made.run_id))) == len(want)
