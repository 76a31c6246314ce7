"""What is kept: the SQLAlchemy store (campaigns, findings, the corpus table), the corpus, datasets
and the program formats they read and write. Builds on ``execution`` and below.
"""
