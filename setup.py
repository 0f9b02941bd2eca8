"""The optional compiled scanner (anystab/sources/_scan.c); everything else is configured in pyproject.toml.

Without a C compiler the build skips the extension (``optional=True``) and anystab reads MRT with its numpy
code instead.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("anystab.sources._scan", ["anystab/sources/_scan.c"], optional=True)])
