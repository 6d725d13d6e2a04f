"""The device's local state, encrypted at rest: one SQLite file (``db``) behind ``LocalStore``
(``local``), and one module of transaction functions per group of tables: device state (``state``),
conversations and messages (``history``), reactions and themes (``rich_state``), Megolm sessions and
group names (``group_state``), stories (``story_state``)."""
