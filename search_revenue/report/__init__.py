"""The report: hit level data in, search keyword revenue out (R1-R8).

Rules, the two engines, the CLI and the Glue job's configuration. The Glue job receives this half as
a wheel; nothing here calls AWS.
"""
