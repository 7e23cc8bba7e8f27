"""The bundled context-tree-weighting compressor (CTW 0.1 design).

tree.py    the node table, the KT estimator and the weighting along one path
model.py   a stream's CTW state as a binary model of the coding loops
"""
