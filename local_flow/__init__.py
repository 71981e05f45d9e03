"""The deployed flow on one machine, against moto in server mode on 127.0.0.1.

Emulation only: this package is never packaged into the Glue wheel or the Lambda zips.
"""
