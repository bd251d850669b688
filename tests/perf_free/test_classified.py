"""``Classified`` with a basis written on demand behaves as one written up front."""

from __future__ import annotations

import pytest

from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.results import Classified


class _Writer:
    """A basis writer that counts how often it is asked."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.text


def test_basis_is_written_once_when_first_read() -> None:
    writer = _Writer("BCR::ABL1 0.1% IS: 0.1 <= 0.1, MMR")
    c = Classified(MR.MMR, "CROSS15.detected", writer)
    assert writer.calls == 0  # classifying formats nothing
    assert c.basis == "BCR::ABL1 0.1% IS: 0.1 <= 0.1, MMR"
    assert c.basis == "BCR::ABL1 0.1% IS: 0.1 <= 0.1, MMR"
    assert writer.calls == 1


def test_deferred_and_written_bases_compare_equal() -> None:
    eager = Classified(MR.MMR, "CROSS15.detected", "0.1 <= 0.1")
    lazy = Classified(MR.MMR, "CROSS15.detected", _Writer("0.1 <= 0.1"))
    assert eager == lazy and hash(eager) == hash(lazy)
    assert repr(lazy) == (
        "Classified(value=<MolecularResponse.MMR: 'MMR'>, rule='CROSS15.detected', "
        "basis='0.1 <= 0.1')"
    )


@pytest.mark.parametrize(
    "other",
    [
        Classified(MR.MR4, "CROSS15.detected", "0.1 <= 0.1"),  # value differs
        Classified(MR.MMR, "CROSS15.undetected", "0.1 <= 0.1"),  # rule differs
        Classified(MR.MMR, "CROSS15.detected", "0.09 <= 0.1"),  # basis differs
    ],
)
def test_any_part_differing_makes_them_unequal(other: Classified[MR]) -> None:
    assert Classified(MR.MMR, "CROSS15.detected", _Writer("0.1 <= 0.1")) != other


def test_classified_is_frozen() -> None:
    c = Classified(None, "ELN2006.CHR", "WBC not given")
    with pytest.raises(AttributeError):
        c.value = MR.MMR  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del c.rule
    assert (c.value, c.rule, c.basis) == (None, "ELN2006.CHR", "WBC not given")


def test_deferred_bases_survive_pickling() -> None:
    # Reports assess in forked worker processes: a result with an unread basis must travel.
    import pickle

    from cmltrack.domain.records import BloodCount
    from cmltrack.domain.response import classify_hematologic

    day = BloodCount.model_validate({"date": "2021-03-01", "wbc": 12.5, "platelets": 210,
                                     "blasts_pb": 0, "basophils_pb": 1, "spleen_cm": 0})
    c = classify_hematologic(day, baseline=None)
    back = pickle.loads(pickle.dumps(c))
    # By hand: WBC 12.5 >= 10 fails CHR, and PHR does not excuse a high WBC.
    assert back.basis == (
        "WBC 12.5 >= 10, platelets 210 < 450, no immature cells (promyelocytes, myelocytes, "
        "metamyelocytes not given), basophils 1% < 5%, spleen not palpable; neither CHR nor PHR"
    )
    assert back == c
