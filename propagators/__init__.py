"""The computational core: element sets and states in, state arrays out.

Pure functions and small immutable values. No SQL, no network, no wall clock,
no logging configuration. Units: km, km/s, s, rad (degrees only at parsing).
"""
