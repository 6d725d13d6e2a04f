"""Stories: 24-hour posts to an audience, their blobs through media."""
