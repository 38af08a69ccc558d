"""File import parsing: rows, timestamps, numbers, bad rows by line, and file-level errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.filereader import BadRow, parse_row, parse_timestamp, read_file
from pipeline.errors import ConfigError, InputError

DATA = Path(__file__).parents[1] / "data" / "import"


def _read_all(path: Path, **kwargs: object) -> tuple[list, list[BadRow]]:
    mentions, bad = [], []
    for batch in read_file(path, "forum", **kwargs):  # type: ignore[arg-type]
        mentions.extend(batch.mentions)
        bad.extend(batch.bad_rows)
    return mentions, bad


def test_jsonl_fixture_imports_good_rows_and_names_the_bad_line() -> None:
    mentions, bad = _read_all(DATA / "mentions.jsonl")
    assert [m.native_id for m in mentions] == ["1001", "1002", "1004", "1005"]
    assert [b.line for b in bad] == [3]
    assert "created_at" in bad[0].reason
    assert "yesterday" in bad[0].reason
    first, second, reply, review = mentions
    assert first.created_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert first.lang == "es"
    assert first.likes == 3
    assert first.platform == "forum"
    assert second.author_followers == 1520  # a number written as a string
    assert reply.parent_id == "1001"
    assert reply.kind == "comment"
    assert reply.replies == 2
    assert reply.created_at == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)  # naive means UTC
    assert review.rating == 4.5
    assert review.kind == "review"
    assert review.text == ""


def test_csv_fixture_quoted_multiline_values_and_bad_row_line() -> None:
    mentions, bad = _read_all(DATA / "mentions.csv")
    assert [m.native_id for m in mentions] == ["r-1", "r-2", "r-4"]
    assert mentions[0].text == 'La app de Órbita se cierra al pagar, "error 500"'
    assert mentions[0].created_at == datetime(2024, 5, 3, 21, 0, tzinfo=UTC)
    assert mentions[1].text == "Great service,\nfast delivery"
    assert mentions[2].url is None
    assert mentions[2].likes == 0
    # r-2 spans lines 3-4, so the bad r-3 is on line 5.
    assert [line for line, _ in bad] == [5]
    assert bad[0].reason.startswith("rating: Input should be a valid number")
    assert bad[0].reason.endswith("(got 'six')")


def test_csv_with_semicolons_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffID;Text;Author;Created_At\n7;hola;ana;2024-01-01T00:00:00Z\n".encode())
    mentions, bad = _read_all(path)
    assert [(m.native_id, m.text) for m in mentions] == [("7", "hola")]
    assert not bad


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not valid JSON"),
        ('"a string"', "not a JSON object"),
        ('{"text": "x", "author": "a", "created_at": "2024-01-01"}', "id: missing"),
        ('{"id": "1", "text": "x", "author": "a", "created_at": 1714557000}', "created_at: write"),
        ('{"id": "1", "text": "  ", "author": "a", "created_at": "2024-01-01"}', "text is empty"),
        (
            '{"id": "1", "text": "x", "author": "a", "created_at": "2024-01-01", "likes": -1}',
            "likes",
        ),
        ('{"id": "1", "text": "x", "author": "a", "created_at": "2024-13-01"}', "not an ISO 8601"),
    ],
)
def test_bad_jsonl_rows_say_why(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "in.jsonl"
    good = '{"id": "ok", "text": "t", "author": "a", "created_at": "2024-01-01"}'
    path.write_text(f"{good}\n{line}\n{good.replace('ok', 'ok2')}\n", encoding="utf-8")
    mentions, bad = _read_all(path)
    assert [m.native_id for m in mentions] == ["ok", "ok2"]
    assert len(bad) == 1
    assert bad[0].line == 2
    assert reason in bad[0].reason


def test_customer_text_is_not_echoed_in_reasons() -> None:
    with pytest.raises(ValueError, match="created_at") as info:
        parse_row({"id": "1", "text": ["my card 4111"], "author": "a", "created_at": "x"}, "x")
    assert "text: Input should be a valid string" in str(info.value)
    assert "4111" not in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file has no rows"),
        (b"id,text,author,created_at\n", "the file has no rows"),
        (b"id,text,when\n1,a,b\n", "missing columns author, created_at in the header"),
        (b"id,text,author,created_at,id\n", "repeated column id"),
        (b'[{"id": 1}]\n', "holds a JSON array"),
        (
            "id,t\u00e9xt,author,created_at\n1,ca\u00f1a,a,2024-01-01\n".encode("latin-1"),
            "not valid UTF-8",
        ),
        ("id,text\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_unreadable_files_raise_input_error_with_where(
    tmp_path: Path, content: bytes, message: str
) -> None:
    suffix = ".jsonl" if content.startswith(b"[") or content.startswith(b"\n") else ".csv"
    path = tmp_path / f"in{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        _read_all(path)
    assert info.value.path == str(path)
    if "UTF-8" in message:  # a header that is not UTF-8 (a row that is not is one bad row)
        assert info.value.line == 1
        assert "column 5" in str(info.value)
        assert "iconv" in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        _read_all(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="folder"):
        _read_all(tmp_path)


def test_bad_platform_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid platform"):
        _read_all_platform(tmp_path, "Not A Platform")


def _read_all_platform(tmp_path: Path, platform: str) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    list(read_file(path, platform))


def test_batches_resume_where_the_previous_one_ended(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = ["id,text,author,created_at"] + [
        f'{i},"line one\nline two {i}",a{i},2024-01-01T00:00:{i % 60:02d}Z' for i in range(25)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    batches = list(read_file(path, "x", page_size=10))
    assert [len(b.mentions) for b in batches] == [10, 10, 5]
    middle = batches[0]
    for offset in (middle.next_offset, None):  # with the byte offset, or by counting lines
        rest = list(read_file(path, "x", start_line=middle.next_line, start_offset=offset))
        assert [m.native_id for b in rest for m in b.mentions] == [str(i) for i in range(10, 25)]
    assert list(read_file(path, "x", start_line=batches[-1].next_line)) == []


# --- properties ------------------------------------------------------------------------------

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)


@given(instants)
def test_timestamps_with_offsets_become_the_same_instant_in_utc(value: datetime) -> None:
    parsed = parse_timestamp(value.isoformat())
    assert parsed.tzinfo is UTC
    assert parsed == value


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_naive_timestamps_are_utc(value: datetime) -> None:
    assert parse_timestamp(value.isoformat(sep=" ")) == value.replace(tzinfo=UTC)


counts = st.integers(min_value=0, max_value=10**12)
ids = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
)
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80
).filter(lambda t: t.strip() == t and t.strip())
rows = st.fixed_dictionaries(
    {
        "id": ids,
        "text": texts,
        "author": ids,
        "created_at": instants,
        "likes": counts,
        "replies": counts,
        "shares": counts,
        "author_followers": counts,
        "rating": st.one_of(st.none(), st.integers(0, 10).map(float), st.sampled_from([4.5, 2.25])),
    }
)


def _as_strings(row: dict) -> dict[str, str]:
    return {
        k: ("" if v is None else v.isoformat() if isinstance(v, datetime) else str(v))
        for k, v in row.items()
    }


@settings(max_examples=60, deadline=None)
@given(rows)
def test_rows_round_trip_through_jsonl_and_csv(row: dict) -> None:
    as_text = _as_strings(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(as_text))
    writer.writeheader()
    writer.writerow(as_text)
    encoded = {
        "jsonl": (json.dumps({**row, "created_at": row["created_at"].isoformat()}) + "\n").encode(),
        "jsonl-strings": (json.dumps(as_text) + "\n").encode(),  # numbers written as strings
        "csv": buffer.getvalue().encode(),
    }
    for name, content in encoded.items():
        mention = _parse_bytes(content, "csv" if name == "csv" else "jsonl")
        assert mention.native_id == row["id"].strip(), name
        assert mention.text == row["text"], name
        assert mention.created_at == row["created_at"], name
        assert mention.created_at.tzinfo is UTC
        assert (mention.likes, mention.replies, mention.shares) == (
            row["likes"], row["replies"], row["shares"],
        )  # fmt: skip
        assert mention.author_followers == row["author_followers"]
        assert mention.rating == row["rating"]


def _parse_bytes(content: bytes, fmt: str):  # type: ignore[no-untyped-def]
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"row.{fmt}"
        path.write_bytes(content)
        batches = list(read_file(path, "x"))
    assert len(batches) == 1
    assert not batches[0].bad_rows, batches[0].bad_rows
    (mention,) = batches[0].mentions
    return mention
