"""Legacy-ID mapping rules (TOML/JSON), conflicts, and the bulk CSV report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.errors import ConfigError
from iesnode.identity import (
    IdentifierScheme,
    IesDid,
    LegacyIdMap,
    MappingConflict,
    MappingRuleError,
    NoMapping,
    map_csv,
)

RULES_TOML = """
utility = "discom.example"

[vars]
domain = "ies.discom.example"

[[rules]]
name = "cis-consumer"
scheme = "CONSUMER_NUMBER"
local = '0*(?P<no>[1-9][0-9]{3,11})'
reference = "did:web:{domain}:consumers:{no}"
local_template = "{no}"

[[rules]]
name = "meter-badge"
scheme = "METER_BADGE"
local = 'MB-(?P<serial>[A-Z0-9/]+)'
reference = "did:web:{domain}:assets:meter:{serial}"
local_template = "MB-{serial}"

[[rules]]
name = "der-meter"
local = 'der://meter/(?P<serial>[A-Z0-9/]+)'
reference = "did:web:{domain}:assets:meter:{serial}"
local_template = "der://meter/{serial}"

[[rules]]
name = "feeder-code"
local = 'FDR-(?P<code>[A-Z0-9-]+)'
reference = "did:web:{domain}:assets:feeder:FDR-{code}"
local_template = "FDR-{code}"

[[rules]]
name = "umid"
local = 'umid-(?P<n>[0-9]+)'
reference = "did:web:{domain}:assets:meter:UMID-{n}"

[[rules]]
name = "legacy-feeder"
local = 'FDR-OLD-(?P<code>[0-9]+)'
reference = "did:web:{domain}:assets:feeder:OLD{code}"
local_template = "FDR-OLD-{code}"

[[pairs]]
scheme = "CONSUMER_NUMBER"
local = "VIP-7"
reference = "did:web:ies.discom.example:consumers:7007"

[[pairs]]
local = "SUPPLY POINT 9"
reference = "did:web:ies.discom.example:connections:SDP-9"
"""
D = "did:web:ies.discom.example"


@pytest.fixture
def mapper(tmp_path: Path) -> LegacyIdMap:
    """The utility's rules, loaded from a TOML file."""
    path = tmp_path / "discom.toml"
    path.write_text(RULES_TOML)
    return LegacyIdMap.load(path)


def test_cis_consumer_numbers_map_both_ways(mapper: LegacyIdMap) -> None:
    """Leading zeros are dropped on the way out; the way back gives the canonical number."""
    assert mapper.map_forward("000123456") == f"{D}:consumers:123456"
    assert mapper.map_back(f"{D}:consumers:123456") == "123456"


def test_references_are_ies_dids(mapper: LegacyIdMap) -> None:
    """Rule output parses as an IES DID with the local value verbatim (percent-encoded)."""
    reference = mapper.map_forward("MB-AB/12", scheme=IdentifierScheme.METER_BADGE)
    assert reference == f"{D}:assets:meter:AB%2F12"
    assert IesDid.parse(reference) == IesDid.meter("ies.discom.example", "AB/12")
    assert mapper.map_back(reference, scheme=IdentifierScheme.METER_BADGE) == "MB-AB/12"


def test_explicit_pairs_map_both_ways(mapper: LegacyIdMap) -> None:
    """An explicit pair covers a number no rule describes, in both directions."""
    assert mapper.map_forward("VIP-7") == f"{D}:consumers:7007"
    assert mapper.map_forward("SUPPLY POINT 9") == f"{D}:connections:SDP-9"
    assert mapper.map_back(f"{D}:connections:SDP-9") == "SUPPLY POINT 9"


def test_one_id_two_references_is_a_conflict(mapper: LegacyIdMap) -> None:
    """A feeder code two rules read differently is refused, naming both rules."""
    with pytest.raises(MappingConflict) as info:
        mapper.map_forward("FDR-OLD-12")
    assert {rule for rule, _ in info.value.candidates} == {"feeder-code", "legacy-feeder"}


def test_two_ids_one_reference_is_a_conflict_on_the_way_back(mapper: LegacyIdMap) -> None:
    """Badge and DER address of one meter: map_back needs a scheme to choose."""
    meter = f"{D}:assets:meter:A1"
    assert mapper.map_forward("MB-A1") == mapper.map_forward("der://meter/A1") == meter
    with pytest.raises(MappingConflict):
        mapper.map_back(meter)
    assert mapper.map_back(meter, scheme=IdentifierScheme.OTHER) == "der://meter/A1"


def test_a_pair_and_a_rule_that_disagree_conflict(mapper: LegacyIdMap) -> None:
    """The consumer DID 7007 comes back as both the pair's VIP-7 and the rule's 7007."""
    with pytest.raises(MappingConflict) as info:
        mapper.map_back(f"{D}:consumers:7007")
    assert {local for _, local in info.value.candidates} == {"VIP-7", "7007"}


def test_unmatched_and_one_way_values_are_no_mapping(mapper: LegacyIdMap) -> None:
    """Unknown numbers and references of one-way rules raise NoMapping with a reason."""
    with pytest.raises(NoMapping, match="no rule or pair matches"):
        mapper.map_forward("ABC")
    assert mapper.map_forward("umid-001") == f"{D}:assets:meter:UMID-001"
    with pytest.raises(NoMapping, match="reversible"):
        mapper.map_back(f"{D}:assets:meter:UMID-001", scheme=IdentifierScheme.OTHER)


def test_a_rule_giving_a_bad_did_says_so() -> None:
    """A match whose group is empty yields NoMapping naming the rule, not a bad DID."""
    mapper = LegacyIdMap.from_data(
        {
            "utility": "u",
            "rules": [{"name": "opt", "local": "C(?P<n>[0-9]*)", "reference": "did:web:u:x:{n}"}],
        }
    )
    with pytest.raises(NoMapping, match="rule opt matched but gave a bad DID"):
        mapper.map_forward("C")


def test_json_files_load_like_toml(tmp_path: Path) -> None:
    """The same rules written as JSON behave the same."""
    path = tmp_path / "rules.json"
    rule = {
        "name": "sdp",
        "local": "SDP-(?P<id>.+)",
        "reference": "did:web:d.example:connections:{id}",
    }
    path.write_text(json.dumps({"utility": "d", "rules": [rule]}))
    assert LegacyIdMap.load(path).map_forward("SDP-1 2") == "did:web:d.example:connections:1%202"


@given(st.integers(1000, 10**12 - 1), st.integers(0, 3))
def test_consumer_numbers_round_trip(number: int, zeros: int) -> None:
    """Any CIS number with leading zeros maps to a DID and back to the canonical number."""
    mapper = LegacyIdMap.from_data(
        {
            "utility": "u",
            "rules": [
                {
                    "name": "cis",
                    "local": "0*(?P<no>[1-9][0-9]*)",
                    "reference": "did:web:u.example:consumers:{no}",
                    "local_template": "{no}",
                }
            ],
        }
    )
    reference = mapper.map_forward("0" * zeros + str(number))
    assert mapper.map_back(reference) == str(number)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (
            {"utility": "u", "rules": [{"name": "r", "local": "(", "reference": "x"}]},
            "rules[0].local",
        ),
        (
            {"utility": "u", "rules": [{"name": "r", "local": "a", "reference": "x:{nope}"}]},
            "rules[0].reference",
        ),
        (
            {
                "utility": "u",
                "rules": [
                    {"name": "r", "local": "(?P<a>.)", "reference": "{a}", "local_template": "{b}"}
                ],
            },
            "rules[0].local_template",
        ),
        (
            {"utility": "u", "rules": [{"name": "r", "local": "a", "reference": "x{"}]},
            "rules[0].reference",
        ),
        (
            {
                "utility": "u",
                "rules": [
                    {"name": "r", "local": "a", "reference": "x"},
                    {"name": "r", "local": "b", "reference": "y"},
                ],
            },
            "rules[1].name",
        ),
        (
            {
                "utility": "u",
                "pairs": [{"local": "a", "reference": "x"}, {"local": "a", "reference": "y"}],
            },
            "pairs[1]",
        ),
        (
            {
                "utility": "u",
                "pairs": [{"local": "a", "reference": "x"}, {"local": "b", "reference": "x"}],
            },
            "pairs[1]",
        ),
        ({"utility": "u", "rules": [{"name": "r", "local": "a"}]}, "rules[0].reference"),
        ({"utility": "u", "colour": "blue"}, "colour"),
    ],
)
def test_bad_rule_files_name_the_rule_and_field(data: object, path: str) -> None:
    """Bad regexes, unknown placeholders, duplicates and unknown fields are MappingRuleError."""
    with pytest.raises(MappingRuleError) as info:
        LegacyIdMap.from_data(data)
    assert info.value.path == path


def test_unreadable_rule_file_is_a_rule_error(tmp_path: Path) -> None:
    """A TOML syntax error names the file."""
    path = tmp_path / "bad.toml"
    path.write_text("utility = ")
    with pytest.raises(MappingRuleError, match=r"bad\.toml"):
        LegacyIdMap.load(path)


def test_bulk_csv_report_sorts_every_row(mapper: LegacyIdMap, tmp_path: Path) -> None:
    """Mapped, unmapped (with why) and conflicting rows (both kinds) are reported by line."""
    export = tmp_path / "cis_export.csv"
    export.write_text(
        "name,consumer_no,tariff\n"
        "A,000123456,LT-1\n"  # line 2: mapped
        "B,123456,LT-1\n"  # line 3: many-to-one with line 2
        "C,555555,LT-2\n"  # line 4: mapped
        "D,,LT-2\n"  # line 5: empty
        "E,XYZ,LT-2\n"  # line 6: unmapped
        "F,FDR-OLD-9,HT\n"  # line 7: one-to-many
        "G,555555,LT-2\n"  # line 8: the same number again is no conflict
    )
    report = map_csv(mapper, export, column="consumer_no")
    assert [(r.line, r.reference) for r in report.mapped] == [
        (4, f"{D}:consumers:555555"),
        (8, f"{D}:consumers:555555"),
    ]
    assert [(r.line, r.reason) for r in report.unmapped] == [
        (5, "empty cell"),
        (6, "no rule or pair matches"),
    ]
    assert [r.line for r in report.conflicts] == [2, 3, 7]
    assert report.conflicts[0].reason.startswith("many-to-one")
    assert report.conflicts[2].reason.startswith("one-to-many")
    assert len(report.conflicts[2].references) == 2
    assert report.summary() == {"mapped": 2, "unmapped": 2, "conflicts": 3}
    assert not report.clean


def test_bulk_scheme_filter_narrows_the_rules(mapper: LegacyIdMap, tmp_path: Path) -> None:
    """With scheme=METER_BADGE only badge rules apply, so DER addresses stay unmapped."""
    export = tmp_path / "meters.csv"
    export.write_text("badge\nMB-1\nder://meter/2\n")
    report = map_csv(mapper, export, column="badge", scheme=IdentifierScheme.METER_BADGE)
    assert [r.local for r in report.mapped] == ["MB-1"]
    assert [r.local for r in report.unmapped] == ["der://meter/2"]


def test_bulk_missing_column_is_refused(mapper: LegacyIdMap, tmp_path: Path) -> None:
    """Asking for a column the header lacks is a ConfigError listing the header."""
    export = tmp_path / "x.csv"
    export.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"\['a', 'b'\]"):
        map_csv(mapper, export, column="consumer_no")
