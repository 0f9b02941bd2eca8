"""The MRT record framing the pre-filter and the slimmer share, and the compiled scanner both use when it was
built (``anystab/sources/_scan.c``, at install time when a C compiler is at hand): :data:`ACCELERATED` says
whether it is used, ``ANYSTAB_PURE_PYTHON=1`` turns it off."""

from __future__ import annotations

import importlib
import os
import struct
from types import ModuleType

scan: ModuleType | None
try:
    scan = importlib.import_module("anystab.sources._scan")
except ImportError:  # built without a C compiler: the numpy code does the work
    scan = None

PURE_PYTHON_ENV = "ANYSTAB_PURE_PYTHON"
ACCELERATED = scan is not None and not os.environ.get(PURE_PYTHON_ENV)

HEADER = struct.Struct(">IHHI")
HEADER_LEN = 12
BGP4MP, BGP4MP_ET = 16, 17
MESSAGE_SUBTYPES = (1, 4, 6, 7, 8, 9, 10, 11)
AS4_MESSAGE_SUBTYPES = (4, 7, 9, 11)
ADDPATH_SUBTYPES = frozenset({8, 9, 10, 11})  # BGP4MP messages and TABLE_DUMP_V2 RIB entries with path ids
TD2_RIB_SUBTYPES = frozenset({2, 3, 4, 5, 8, 9, 10, 11})  # TABLE_DUMP_V2 records of one prefix's RIB entries
BGP_HEADER_LEN = 19
BGP_UPDATE = 2
FLAG_EXTENDED = 0x10  # a path attribute's length takes two bytes


def message_record(record: bytes) -> bool:
    """A BGP4MP / BGP4MP_ET message record (the records step 7 judges)."""
    mtype, subtype = HEADER.unpack_from(record)[1:3]
    return mtype in (BGP4MP, BGP4MP_ET) and subtype in MESSAGE_SUBTYPES
