"""The oracle on hand-made outcomes: classification, documented differences, signatures."""

import pytest

from tinyfuzz.execution.oracle import classify, compare
from tinyfuzz.execution.targets import KnownDifference, Target
from tinyfuzz.execution.worker import Limits, Outcome

OK = Outcome("ok", "1\n")


def target(*known, normalize=()):
    return Target("t", "worker", ("x",), None, Limits(), normalize=normalize, known=known)


@pytest.mark.parametrize("observed, kind", [
    (Outcome("ok", "1\n"), None),
    (Outcome("ok", "2\n"), "output"),
    (Outcome("timeout"), "hang"),
    (Outcome("crash", exc_message="signal 11"), "crash"),
    (Outcome("exception", "1\n", "ValueError", "x"), "exception-type"),
    (Outcome("oom", "1\n", "MemoryError"), "exception-type"),
])
def test_classify(observed, kind):
    assert classify(OK, observed) == kind


def test_exception_message_is_the_least_serious():
    expected = Outcome("exception", "", "KeyError", "'k'")
    assert classify(expected, Outcome("exception", "", "KeyError", "k")) == "exception-message"
    assert classify(expected, Outcome("exception", "x", "KeyError", "k")) == "output"


def test_a_documented_difference_explains_only_what_it_says():
    sets = KnownDifference("set-order", "", "output", normalize=("sort-sets",))
    messages = KnownDifference("messages", "", "exception-message")
    expected = Outcome("exception", "{1, 2, 3}\n", "KeyError", "'k'")
    both = compare(expected, Outcome("exception", "{3, 1, 2}\n", "KeyError", "k"),
                   target(sets, messages))
    assert both.kind == "output" and both.known == "set-order, messages" and not both.is_bug
    wrong = compare(expected, Outcome("exception", "{3, 1, 4}\n", "KeyError", "k"),
                    target(sets, messages))
    assert wrong.is_bug and wrong.kind == "output"
    only_sets = compare(expected, Outcome("exception", "{3, 1, 2}\n", "KeyError", "k"), target(sets))
    assert only_sets.is_bug and only_sets.kind == "exception-message"


def test_exc_types_restrict_a_rule():
    rule = KnownDifference("zero", "", "exception-message", exc_types=("ZeroDivisionError",))
    zero = Outcome("exception", "", "ZeroDivisionError", "division by zero")
    assert compare(zero, zero._replace(exc_message="divide by zero"), target(rule)).known == "zero"
    key = Outcome("exception", "", "KeyError", "'k'")
    assert compare(key, key._replace(exc_message="k"), target(rule)).is_bug


def test_signatures_bucket_by_shape_not_by_values():
    t = target()
    a = compare(Outcome("ok", "x = 1\n"), Outcome("ok", "x = 2\n"), t)
    b = compare(Outcome("ok", "x = 7\n"), Outcome("ok", "x = 9\n"), t)
    c = compare(Outcome("ok", "x = 1\n"), Outcome("ok", "y\n"), t)
    assert a.signature == b.signature != c.signature
    # The same change in different surroundings buckets together: only the changed tokens count.
    floats = [compare(Outcome("ok", f"{p}2.0\n"), Outcome("ok", f"{p}2\n"), t).signature
              for p in ("", "[(0, 'x')] ", "total: ")]
    assert len(set(floats)) == 1 and floats[0] != a.signature
    reordered = [compare(Outcome("ok", f"{p}{{'1': 1, '2': 2}}\n"),
                         Outcome("ok", f"{p}{{'2': 2, '1': 1}}\n"), t).signature for p in ("", "[] ")]
    assert len(set(reordered)) == 1
    assert compare(OK, Outcome("timeout"), t).signature != compare(OK, Outcome("crash"), t).signature


def test_target_normalizers_apply_before_comparing():
    assert compare(Outcome("ok", "a  \n"), Outcome("ok", "a\n"),
                   target(normalize=("strip-trailing-space",))) is None


@pytest.mark.parametrize("expected, observed, same", [
    ("{'a': 1, 'b': 2}", "{'b': 2, 'a': 1}", True),
    ("dict_keys(['P', 'y']) 0", "dict_keys(['y', 'P']) 0", True),
    ("dict_values([1, 2])", "dict_values([2, 1])", True),
    ("dict_keys(['P', 'y'])", "dict_keys(['P', 'z'])", False),
    ("['P', 'y']", "['y', 'P']", False),  # a list's order is the program's, never normalised
])
def test_sort_dicts_normalises_dict_literals_and_views_only(expected, observed, same):
    from tinyfuzz.execution.oracle import NORMALIZERS

    sort = NORMALIZERS["sort-dicts"]
    assert (sort(expected) == sort(observed)) is same


def test_a_caught_and_printed_exception_is_one_bucket_whatever_the_reference_printed():
    # MicroPython's str.center has no fill character: programs catch the TypeError and print it
    # in many ways, where CPython prints each program's own output (seen in a campaign: 30 buckets)
    t = target()
    message = "'function takes 2 positional arguments but 3 were given'"
    cases = [("0\n", f"TypeError ({message},)\n"), ("hello,0\n", f"TypeError ({message},)\n"),
             ("a,b,c [0, 0, 0]\n", f"caught TypeError({message})\n"),
             ("no ['', '']\n", f"TypeError ({message},)\n")]
    signatures = {compare(Outcome("ok", e), Outcome("ok", o), t).signature for e, o in cases}
    assert len(signatures) == 1
    other = compare(Outcome("ok", "0\n"),
                    Outcome("ok", "AttributeError (\"'str' object has no attribute 'zfill'\",)\n"), t)
    assert other.signature not in signatures
    # an exception both sides print, differing in its message, still buckets by the change
    both = compare(Outcome("ok", "KeyError 'a'\n"), Outcome("ok", "KeyError a\n"), t)
    assert both.signature not in signatures


@pytest.mark.parametrize("observed", ["1\n\n", "1", "1\n2\n", ""])
def test_outputs_that_differ_only_in_length_get_a_signature(observed):
    """A trailing newline more or less, or missing lines, is an output difference with its own bucket."""
    difference = compare(OK, Outcome("ok", observed), target())
    assert difference.kind == "output" and len(difference.signature) == 12
    assert difference.signature != compare(OK, Outcome("ok", "2\n"), target()).signature


def test_the_words_a_program_printed_do_not_split_a_bucket():
    """MicroPython's KeyError message without quotes: one bucket whatever the key."""
    t = target()
    keys = {compare(Outcome("ok", f"0 '{key}'\n"), Outcome("ok", f"0 {key}\n"), t).signature
            for key in ("blue", "cyan", "green", "red")}
    assert len(keys) == 1
    words = {compare(Outcome("ok", f"right {w}\n"), Outcome("ok", f"{w}\n"), t).signature
             for w in ("banana", "a,b,c", "x y z")}
    assert len(words) == 1
    # the words of the language stay: True printed for False is not a changed name
    assert compare(Outcome("ok", "True\n"), Outcome("ok", "False\n"), t).signature != \
        compare(Outcome("ok", "abc\n"), Outcome("ok", "xyz\n"), t).signature


def test_where_a_difference_shows_is_part_of_its_signature_but_a_hang_has_none():
    t = target()
    loop = compare(OK, Outcome("ok", "1\n1\n"), t, where="For")
    branch = compare(OK, Outcome("ok", "1\n1\n"), t, where="If")
    assert loop.signature != branch.signature
    assert compare(OK, Outcome("ok", "1\n1\n"), t, where="For").signature == loop.signature
    hangs = {compare(OK, Outcome("timeout"), t, where=w).signature for w in ("For", "While", "")}
    assert len(hangs) == 1


@pytest.mark.parametrize("reference", [
    Outcome("timeout", exc_message="killed after the hard deadline"), Outcome("output-limit", "1" * 99),
    Outcome("crash", exc_message="signal 9"), Outcome("oom", "", "MemoryError")])
@pytest.mark.parametrize("observed", [Outcome("timeout"), Outcome("crash"), Outcome("ok", "1\n")])
def test_no_verdict_where_the_reference_did_not_finish(reference, observed):
    """Both timing out is not a bug, nor a target's timeout where the reference flooded its output."""
    assert compare(reference, observed, target()) is None
