"""The learned generator (``tinyfuzz learn`` / ``sample``): tokens, the LSTM, search, sampling.
A leaf wing: the only place torch and Optuna are imported.
"""
