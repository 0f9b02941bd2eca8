"""Fixtures for the lab tests: the committed output of one real lab run (:mod:`support.lab`)."""

from support.lab import lab_copy as lab_copy
from support.lab import lab_data as lab_data
from support.lab import lab_truth as lab_truth
