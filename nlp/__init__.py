"""Understanding free-text complaints: categories, places, numbers and urgency.

Plain functions and frozen dataclasses; no Telegram and no database. The bot builds one
`ComplaintReader` at start-up (`ComplaintReader.create`, off the event loop) and calls
`read` for each complaint.

Nothing is imported here: the classifier's libraries (numpy, jieba) load only where the
reader is built (in the background after the bot starts), not with every `nlp.*` module.
"""
