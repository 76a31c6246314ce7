"""Programs from a task description (``tinyfuzz generate --describe``). A leaf wing: the only
place spaCy is imported.
"""
