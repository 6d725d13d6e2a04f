"""The person's device's check of a business's message against the endpoint's declaration
(docs/business.md section 5): what the content says it is, and when that is a mismatch."""

from __future__ import annotations

from passerelle.domain.business.feedback import Described, mismatch, observed

TEMPLATE = {"type": "template", "template": {"name": "order_ready", "language": "fr", "category": "UTILITY"}}


def test_the_content_says_what_it_is() -> None:
    assert observed(msgtype="text", cloud=None, has_attachment=False) == Described(kind="text")
    assert observed(msgtype="reaction", cloud=None, has_attachment=False) == Described(kind="reaction")
    assert observed(msgtype="image", cloud={"type": "image", "image": {}}, has_attachment=True) == Described(
        kind="image"
    )
    assert observed(msgtype="file", cloud=None, has_attachment=True) == Described(kind="media")
    assert observed(msgtype="text", cloud={"type": "nonsense"}, has_attachment=False) == Described(
        kind="text"
    )
    assert observed(msgtype="text", cloud=TEMPLATE, has_attachment=False) == Described(
        kind="template", template="order_ready", language="fr", category="UTILITY"
    )


def test_what_was_declared_matches() -> None:
    seen = observed(msgtype="text", cloud=TEMPLATE, has_attachment=False)
    declared = Described(kind="template", template="order_ready", language="fr", category="UTILITY")
    assert mismatch(declared, seen) is None
    assert mismatch(Described(kind="text"), Described(kind="text")) is None
    assert mismatch(Described(kind="image"), Described(kind="media")) is None
    assert mismatch(Described(kind="interactive"), Described(kind="interactive")) is None


def test_a_lie_is_a_mismatch() -> None:
    marketing = observed(
        msgtype="text",
        cloud={"type": "template", "template": {"name": "sale", "language": "fr", "category": "MARKETING"}},
        has_attachment=False,
    )
    assert mismatch(Described(kind="text"), marketing) == "declared text, the content is template"
    utility = Described(kind="template", template="order_ready", language="fr", category="UTILITY")
    assert mismatch(utility, marketing) == "the content is another template than the one declared"
    renamed = Described(kind="template", template="sale", language="fr", category="UTILITY")
    assert mismatch(renamed, marketing) == "the template's category is UTILITY, the content says MARKETING"
    assert mismatch(Described(kind="reaction"), Described(kind="text")) is not None
    assert mismatch(Described(kind="status"), Described(kind="text")) is not None
    assert mismatch(Described(kind="image"), Described(kind="text")) is not None
