"""The character RNN of the paper (eq. (27)-(28)) and how it learns online.

network.py   the model: transition, readout, Jacobian products
learners/    gradient estimates (nbt.py NoBackTrack, rtrl.py exact) and step
             rules (kalman.py quasi-diagonal, sgd.py Euclidean)
step.py      one time step: predict, then learn (the named state, Net)
model.py     the RNN as a model of the coding loops
"""
