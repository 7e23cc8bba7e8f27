"""The default model: binary context mixing with the NoBackTrack RNN inside.

state.py    the named state of a stream (new_state)
softmax.py  the RNN's readout plus direct n-gram connections, one joint softmax
match.py    the match model
mixer.py    the two-layer logistic mixer and the APM stage
model.py    begin / predict_bit / learn_bit / end for the coding loops
measure.py  probabilities and code lengths for tuning and tests
"""
