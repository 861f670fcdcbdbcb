"""The timed, bounded memory (core.memo): a value comes back for its seconds and no longer, never
from a moment the clock now reads as still to come, and a full memory is emptied, not grown."""

from __future__ import annotations

from datetime import datetime, timedelta

from core import clock
from core.memo import MAX_ENTRIES, TimedMemory


def _put_now(seconds: float = 3) -> tuple[TimedMemory[str], datetime]:
    """A memory of ``seconds`` holding "key" → "value", put at the moment returned."""
    memory: TimedMemory[str] = TimedMemory(seconds)
    start = clock.now()
    with clock.travel(start):
        memory.put("key", "value")
    return memory, start


def test_a_value_comes_back_for_its_seconds_and_then_is_forgotten():
    memory, start = _put_now()
    with clock.travel(start + timedelta(seconds=2.9)):
        assert memory.get("key") == "value"
    with clock.travel(start + timedelta(seconds=3)):
        assert memory.get("key") is None
    assert len(memory) == 0


def test_an_entry_tells_when_its_value_was_put():
    memory, start = _put_now()
    with clock.travel(start + timedelta(seconds=1)):
        assert memory.entry("key") == (start.timestamp(), "value")
        assert memory.entry("other") is None
    with clock.travel(start + timedelta(seconds=3)):
        assert memory.entry("key") is None


def test_a_value_put_at_a_moment_still_to_come_is_not_given_back():
    memory, start = _put_now()
    with clock.travel(start - timedelta(seconds=1)):  # the clock was set back
        assert memory.get("key") is None


def test_a_full_memory_is_emptied_by_the_next_put():
    memory: TimedMemory[int] = TimedMemory(60)
    for number in range(MAX_ENTRIES):
        memory.put(number, number)
    assert len(memory) == MAX_ENTRIES
    memory.put("one more", 1)
    assert len(memory) == 1 and memory.get(0) is None and memory.get("one more") == 1
