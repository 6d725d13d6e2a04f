"""Groups: members, roles, invites (their messages go through messaging)."""
