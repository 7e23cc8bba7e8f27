"""Gradient estimates of dh/dtheta (nbt, rtrl) and step rules (kalman, sgd)."""
