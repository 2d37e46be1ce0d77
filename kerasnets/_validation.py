"""Deprecated home of the argument checks: they are public in [kerasnets.checks][].

A re-export shim, kept until every import says ``kerasnets.checks`` (the lead switches them
when merging); new code imports ``kerasnets.checks``.
"""

from kerasnets.checks import *  # noqa: F401,F403
from kerasnets.checks import __all__  # noqa: F401
