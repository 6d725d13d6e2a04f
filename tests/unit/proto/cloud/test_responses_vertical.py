"""The profile's ``vertical``: a business's free-text category as one of the Cloud API's values."""

from passerelle.proto.cloud.responses import vertical_of


def test_a_category_becomes_a_cloud_api_vertical() -> None:
    assert vertical_of("") == "UNDEFINED" and vertical_of("  ") == "UNDEFINED"
    assert vertical_of("retail") == "RETAIL" and vertical_of("PROF_SERVICES") == "PROF_SERVICES"
    assert vertical_of("Bikes and repairs") == "OTHER"
