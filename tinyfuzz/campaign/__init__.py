"""Fuzz campaigns: configuration, the batch runner inside executor processes, the driver, the
executors (local processes, Dask) and the HTML report. The outermost wing before the CLI.
"""
